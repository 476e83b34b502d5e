import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import { LineChart } from "../../components/LineChart";
import { ErrorBox, Loading } from "../../components/ui";
import { rangeBounds, STAT_CHARTS, summarize, toSeries, type StatRow } from "../../lib/stats";
import { useApp } from "../AppShell";
import { RangeSelect } from "./filters";

const MEANS = new Set(["interactions", "latency", "tps", "satisfaction"]);
const COLORS = ["#155eef", "#7839ee", "#079455", "#dc6803", "#d92d20", "#0e9384", "#e04f16", "#6172f3", "#ee46bc"];

/** Charts of an app's usage over time (lazy-loaded: uPlot stays out of the main bundle). */
export default function MonitoringPage() {
  const { t, i18n } = useTranslation();
  const { app } = useApp();
  const [range, setRange] = useState("7");
  const [data, setData] = useState<Record<string, StatRow[]> | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    setData(null);
    const kinds = [...new Set(STAT_CHARTS.map((c) => c.kind))];
    Promise.all(
      kinds.map((kind) =>
        api<{ data: StatRow[] }>("get", "/console/api/apps/{app_id}/statistics/{kind}", {
          path: { app_id: app.id, kind },
          query: rangeBounds(range),
        }).then((r) => [kind, r.data] as const),
      ),
    )
      .then((pairs) => live && setData(Object.fromEntries(pairs)))
      .catch((e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [app.id, range]);

  const charts = useMemo(
    () =>
      data
        ? STAT_CHARTS.map((c) => {
            const series = toSeries(data[c.kind] ?? [], c.field);
            return { ...c, ...series, total: summarize(series.y, MEANS.has(c.label) ? "mean" : "sum") };
          })
        : [],
    [data],
  );
  const format = (n: number) => n.toLocaleString(i18n.language, { maximumFractionDigits: n < 1 ? 6 : 2 });

  return (
    <div className="stack" data-testid="monitoring">
      <div className="row-between">
        <h2>{t("monitor.title")}</h2>
        <RangeSelect value={range} onChange={setRange} />
      </div>
      <ErrorBox error={error} />
      {data === null && !error ? <Loading /> : null}
      <div className="chart-grid">
        {charts.map((c, i) => (
          <section key={c.label} className="panel chart-card" data-testid={`chart-${c.label}`}>
            <div className="row-between">
              <strong>{t(`monitor.${c.label}`)}</strong>
              <span className="muted small" data-testid="chart-total">
                {t("monitor.total", { value: format(c.total) })}
              </span>
            </div>
            {c.x.length === 0 ? <div className="empty small">{t("monitor.noData")}</div> : <LineChart x={c.x} y={c.y} label={t(`monitor.${c.label}`)} color={COLORS[i % COLORS.length]} />}
          </section>
        ))}
      </div>
    </div>
  );
}

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { DatasetDetail, HitRecord, RetrievalModel } from "../../api/models";
import { RetrievalSettings } from "../../components/RetrievalSettings";
import { ErrorBox } from "../../components/ui";

/** Try queries against a knowledge base with its retrieval settings (adjustable here, not saved). */
export function HitTesting({ dataset }: { dataset: DatasetDetail }) {
  const { t } = useTranslation();
  const [query, setQuery] = useState("");
  const [settings, setSettings] = useState<RetrievalModel>(dataset.retrieval_model_dict);
  const [records, setRecords] = useState<HitRecord[] | null>(null);
  const [history, setHistory] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (text: string) => {
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const result = await api<{ records: HitRecord[] }>("post", "/console/api/datasets/{dataset_id}/hit-testing", {
        path: { dataset_id: dataset.id },
        body: { query: text, retrieval_model: settings },
      });
      setRecords(result.records);
      setHistory((h) => [text, ...h.filter((q) => q !== text)].slice(0, 8));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="hit-layout" data-testid="hit-testing">
      <div className="stack">
        <section className="panel stack">
          <h2>{t("hit.title")}</h2>
          <p className="muted small">{t("hit.hint")}</p>
          <textarea aria-label={t("hit.query")} placeholder={t("hit.query")} data-testid="hit-query" rows={4} value={query} onChange={(e) => setQuery(e.target.value)} />
          <details>
            <summary className="small">{t("retrieval.title")}</summary>
            <RetrievalSettings value={settings} onChange={setSettings} idPrefix="hit" />
          </details>
          <div>
            <button type="button" className="btn btn-primary" data-testid="hit-run" disabled={busy || !query.trim()} onClick={() => void run(query)}>
              {t("hit.run")}
            </button>
          </div>
          <ErrorBox error={error} />
        </section>
        {history.length ? (
          <section className="panel stack">
            <h3>{t("hit.history")}</h3>
            {history.map((q) => (
              <button key={q} type="button" className="btn btn-ghost btn-small" style={{ justifyContent: "flex-start" }} onClick={() => {
                setQuery(q);
                void run(q);
              }}>
                {q}
              </button>
            ))}
          </section>
        ) : null}
      </div>
      <section className="stack" data-testid="hit-results">
        {records === null ? null : records.length === 0 ? (
          <div className="card empty">{t("hit.none")}</div>
        ) : (
          <>
            <span className="muted small">{t("hit.results", { count: records.length })}</span>
            {records.map((r) => (
              <div key={r.segment.id} className="segment" data-testid="hit-record">
                <div className="row-between small muted">
                  <span>
                    📄 {r.segment.document.name} · #{r.segment.position}
                  </span>
                  {typeof r.score === "number" ? (
                    <span className="badge badge-blue">
                      {t("hit.score")} {r.score.toFixed(3)}
                    </span>
                  ) : null}
                </div>
                <div>{r.segment.content}</div>
                {r.child_chunks.map((c) => (
                  <div key={c.id} className="muted small">
                    ↳ {c.content}
                  </div>
                ))}
              </div>
            ))}
          </>
        )}
      </section>
    </div>
  );
}

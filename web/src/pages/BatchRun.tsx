import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { FormItem } from "../api/models";
import { webFetch } from "../api/webapp";
import { formEntry } from "../components/InputsForm";
import { download, ErrorBox } from "../components/ui";
import { parseCsv, rowsToInputs, toCsv } from "../lib/csv";
import { readEvents } from "../lib/sse";

interface BatchRow {
  inputs: Record<string, string>;
  status: "waiting" | "running" | "done" | "error";
  answer: string;
}

const PARALLEL = 2;

/** Text generator batch run: one completion per CSV row, two at a time, results downloadable as CSV. */
export function BatchRun({ code, form }: { code: string; form: FormItem[] }) {
  const { t } = useTranslation();
  const specs = form.map(formEntry).filter((e) => e !== null).map(([, s]) => s);
  const names = specs.map((s) => s.variable);
  const required = specs.filter((s) => s.required).map((s) => s.variable);
  const [rows, setRows] = useState<BatchRow[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const pick = async (file: File) => {
    setProblem(null);
    const parsed = rowsToInputs(parseCsv(await file.text()), names, required);
    if (!parsed) return setProblem(t("batch.badHeader", { names: required.join(", ") || names.join(", ") }));
    setRows(parsed.map((inputs) => ({ inputs, status: "waiting", answer: "" })));
  };
  const runOne = async (index: number, inputs: Record<string, string>) => {
    const set = (patch: Partial<BatchRow>) => setRows((all) => all.map((r, i) => (i === index ? { ...r, ...patch } : r)));
    set({ status: "running", answer: "" });
    let answer = "";
    let failed: string | null = null;
    try {
      const response = await webFetch(code, "post", "/api/completion-messages", { inputs, response_mode: "streaming" });
      await readEvents(response, (event) => {
        if (event.event === "message") answer += String(event.answer ?? "");
        else if (event.event === "message_replace") answer = String(event.answer ?? "");
        else if (event.event === "error") failed = String(event.message ?? "error");
        set({ answer });
      });
    } catch (e) {
      failed = e instanceof Error ? e.message : String(e);
    }
    set(failed ? { status: "error", answer: failed } : { status: "done", answer });
  };
  const runAll = async () => {
    setBusy(true);
    setError(null);
    try {
      let next = 0;
      const snapshot = rows;
      const worker = async () => {
        while (next < snapshot.length) {
          const index = next++;
          await runOne(index, snapshot[index]!.inputs);
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, snapshot.length) }, worker));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const done = rows.filter((r) => r.status === "done" || r.status === "error").length;
  return (
    <div className="stack" data-testid="batch-run">
      <p className="muted small">{t("batch.hint", { names: names.join(", ") })}</p>
      <div className="row wrap">
        <label className="btn">
          {t("batch.pick")}
          <input type="file" accept=".csv,text/csv" hidden data-testid="batch-input" onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void pick(file);
            e.target.value = "";
          }} />
        </label>
        <button type="button" className="btn btn-ghost" onClick={() => download("template.csv", toCsv([names]), "text/csv")}>
          {t("batch.template")}
        </button>
      </div>
      {problem ? <div className="notice" role="alert">{problem}</div> : null}
      <ErrorBox error={error} />
      {rows.length > 0 ? (
        <>
          <div className="row-between">
            <span className="muted small" data-testid="batch-progress">
              {busy || done ? t("batch.progress", { done, total: rows.length }) : t("batch.rows", { count: rows.length })}
            </span>
            <div className="row">
              <button type="button" className="btn btn-primary" data-testid="batch-run-all" disabled={busy} onClick={() => void runAll()}>
                {t("batch.run")}
              </button>
              <button
                type="button"
                className="btn"
                disabled={busy || done === 0}
                onClick={() => download("results.csv", toCsv([[...names, "result"], ...rows.map((r) => [...names.map((n) => r.inputs[n] ?? ""), r.answer])]), "text/csv")}
              >
                {t("batch.download")}
              </button>
            </div>
          </div>
          <div className="progress">
            <div style={{ width: `${Math.round((done / rows.length) * 100)}%` }} />
          </div>
          {/* The inputs share one column, so the results fit beside them in the narrow form panel. */}
          <div className="table-wrap" style={{ overflowX: "auto" }}>
            <table className="table" data-testid="batch-table">
              <thead>
                <tr>
                  <th>{t("batch.row")}</th>
                  <th>{names.join(" · ")}</th>
                  <th>{t("batch.result")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i} data-testid="batch-row" data-status={r.status}>
                    <td>{i + 1}</td>
                    <td className="small">
                      {names.map((n) => (
                        <div key={n} className="ellipsis" style={{ maxWidth: 120 }} title={r.inputs[n]}>
                          <span className="muted">{n}:</span> {r.inputs[n]}
                        </div>
                      ))}
                    </td>
                    <td className={r.status === "error" ? "field-error" : undefined} data-testid="batch-result">
                      {r.status === "waiting" ? "…" : r.answer}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </div>
  );
}

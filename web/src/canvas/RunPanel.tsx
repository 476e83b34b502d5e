/**
 * Run and debug: the start-inputs form (workflows) or the preview chat (chatflows), the live run
 * with every node's execution, and the run history (a past run opens on the canvas).
 */
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { FormItem } from "../api/models";
import { ChatPanel } from "../components/ChatPanel";
import { InputsForm, missingInputs } from "../components/InputsForm";
import { ErrorBox, formatTime } from "../components/ui";
import { listRuns, type RunSummary } from "./api";
import type { FlowMode } from "./catalog";
import { ExecutionDetails, Json } from "./inspect";
import type { RunState } from "./run";

export interface StartVariable {
  variable: string;
  label?: string;
  type: string;
  required?: boolean;
  options?: string[];
  max_length?: number;
}

export function startForm(vars: StartVariable[]): FormItem[] {
  return vars
    .filter((v) => ["text-input", "paragraph", "select", "number"].includes(v.type))
    .map((v) => ({ [v.type]: { variable: v.variable, label: v.label ?? v.variable, required: Boolean(v.required), options: v.options ?? [], max_length: v.max_length ?? 0, default: "" } }) as FormItem);
}

function coerce(vars: StartVariable[], values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of vars) {
    const raw = values[v.variable];
    if (raw === undefined || raw === "") continue;
    out[v.variable] = v.type === "number" ? Number(raw) : raw;
  }
  return out;
}

function Progress({ run, onPick }: { run: RunState; onPick: (id: string) => void }) {
  const { t } = useTranslation("canvas");
  if (run.status === "idle") return null;
  return (
    <div className="stack-tight" data-testid="run-result">
      <div className="row wrap small">
        <span className={`node-status node-status-${run.status}`} data-testid="run-status" data-status={run.status}>
          {t(`status.${run.status}`, { defaultValue: run.status })}
        </span>
        {run.elapsed !== null ? <span className="muted">{t("run.elapsed", { seconds: run.elapsed.toFixed(3) })}</span> : null}
        {run.totalTokens !== null ? <span className="muted">{t("run.tokens", { count: run.totalTokens })}</span> : null}
      </div>
      {run.error ? (
        <div className="alert" data-testid="run-error">
          {run.error}
        </div>
      ) : null}
      {run.text && run.outputs === null ? <pre className="wf-json-view">{run.text}</pre> : null}
      {run.outputs ? (
        <>
          <h5>{t("run.outputs")}</h5>
          <Json value={run.outputs} testId="run-outputs" />
        </>
      ) : null}
      <h5>{t("run.trace")}</h5>
      {run.order.map((id) => {
        const e = run.nodes[id];
        if (!e) return null;
        return (
          <details key={id} className="wf-trace" data-testid="trace-item" data-node-id={id}>
            <summary>
              <span className={`dot dot-${e.status}`} /> {e.title || e.node_type}
              <button type="button" className="linklike small" onClick={() => onPick(id)}>
                {t("run.show")}
              </button>
            </summary>
            <ExecutionDetails execution={e} />
          </details>
        );
      })}
    </div>
  );
}

export function History({ appId, refreshKey, onOpen, current }: { appId: string; refreshKey: number; onOpen: (id: string) => void; current: string | null }) {
  const { t, i18n } = useTranslation("canvas");
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setRuns((await listRuns(appId)).data);
    } catch (e) {
      setError(e);
    }
  }, [appId]);
  useEffect(() => {
    void load();
  }, [load, refreshKey]);
  return (
    <div className="stack-tight" data-testid="run-history">
      <ErrorBox error={error} />
      {runs.length === 0 ? <p className="muted">{t("run.noRuns")}</p> : null}
      {runs.map((r) => (
        <button key={r.id} type="button" className={r.id === current ? "wf-history-item active" : "wf-history-item"} data-testid="history-item" onClick={() => onOpen(r.id)}>
          <span className={`dot dot-${r.status}`} /> {formatTime(r.created_at, i18n.language)}
          <span className="muted small"> · {r.elapsed_time !== null ? `${r.elapsed_time.toFixed(2)}s` : ""} · {t("run.tokens", { count: r.total_tokens ?? 0 })}</span>
        </button>
      ))}
    </div>
  );
}

export function RunPanel(props: {
  mode: FlowMode;
  appId: string;
  vars: StartVariable[];
  run: RunState;
  busy: boolean;
  onRun: (inputs: Record<string, unknown>) => void;
  onStop: () => void;
  onChat: (query: string, inputs: Record<string, unknown>, conversationId: string | null, signal: AbortSignal) => Promise<Response>;
  onPick: (id: string) => void;
  onOpenRun: (id: string) => void;
  refreshKey: number;
  openingStatement: string;
  suggestedQuestions?: string[];
  showCitations?: boolean;
}) {
  const { t } = useTranslation("canvas");
  const [tab, setTab] = useState<"run" | "history">("run");
  const [values, setValues] = useState<Record<string, string>>({});
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const form = startForm(props.vars);
  return (
    <div className="stack" data-testid="run-panel">
      <div className="segmented small">
        <button type="button" className={tab === "run" ? "active" : ""} onClick={() => setTab("run")}>
          {props.mode === "advanced-chat" ? t("run.preview") : t("run.run")}
        </button>
        <button type="button" className={tab === "history" ? "active" : ""} data-testid="tab-history" onClick={() => setTab("history")}>
          {t("run.history")}
        </button>
      </div>
      {tab === "history" ? (
        <History appId={props.appId} refreshKey={props.refreshKey} current={props.run.runId} onOpen={props.onOpenRun} />
      ) : props.mode === "advanced-chat" ? (
        <>
          {form.length ? <InputsForm form={form} values={values} onChange={setValues} /> : null}
          <div className="wf-chat" data-testid="chat-preview">
            <ChatPanel
              conversationId={conversationId}
              onConversation={setConversationId}
              openingStatement={props.openingStatement || null}
              suggestedQuestions={props.suggestedQuestions}
              showCitations={props.showCitations}
              check={() => {
                const missing = missingInputs(form, values);
                return missing.length ? t("run.fillIn", { names: missing.join(", ") }) : null;
              }}
              send={(query, conversation, signal) => props.onChat(query, coerce(props.vars, values), conversation, signal)}
            />
          </div>
          <button type="button" className="btn btn-small" onClick={() => setConversationId(null)}>
            {t("run.newConversation")}
          </button>
          <Progress run={props.run} onPick={props.onPick} />
        </>
      ) : (
        <>
          {form.length ? <InputsForm form={form} values={values} onChange={setValues} /> : <p className="muted small">{t("run.noInputs")}</p>}
          {notice ? <div className="notice">{notice}</div> : null}
          <div className="row">
            <button
              type="button"
              className="btn btn-primary"
              data-testid="run-start"
              disabled={props.busy}
              onClick={() => {
                const missing = missingInputs(form, values);
                if (missing.length) return setNotice(t("run.fillIn", { names: missing.join(", ") }));
                setNotice(null);
                props.onRun(coerce(props.vars, values));
              }}
            >
              ▶ {t("run.start")}
            </button>
            {props.busy ? (
              <button type="button" className="btn" onClick={props.onStop}>
                ■ {t("run.stop")}
              </button>
            ) : null}
          </div>
          <Progress run={props.run} onPick={props.onPick} />
        </>
      )}
    </div>
  );
}

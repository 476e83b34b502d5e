import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import { webFetch } from "../api/webapp";
import { InputsForm, missingInputs } from "../components/InputsForm";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { Markdown } from "../components/Markdown";
import { ErrorBox, Loading } from "../components/ui";
import { readEvents, type StreamEvent } from "../lib/sse";
import { useWebApp } from "./WebApp";

export interface NodeProgress {
  id: string;
  title: string;
  type: string;
  status: "running" | "succeeded" | "failed" | "stopped" | string;
  elapsed?: number;
}

export interface RunState {
  status: "idle" | "running" | "succeeded" | "failed" | "stopped";
  nodes: NodeProgress[];
  outputs: Record<string, unknown> | null;
  text: string;
  error: string | null;
  taskId: string | null;
}

export const IDLE: RunState = { status: "idle", nodes: [], outputs: null, text: "", error: null, taskId: null };

/** Fold one workflow stream event into the run's state (pure, so the progress view is testable). */
export function applyRunEvent(state: RunState, event: StreamEvent): RunState {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const taskId = typeof event.task_id === "string" ? event.task_id : state.taskId;
  switch (event.event) {
    case "workflow_started":
      return { ...state, status: "running", taskId };
    case "node_started": {
      const node: NodeProgress = { id: String(data.node_id ?? data.id ?? ""), title: String(data.title ?? data.node_id ?? ""), type: String(data.node_type ?? ""), status: "running" };
      return { ...state, taskId, nodes: [...state.nodes.filter((n) => n.id !== node.id), node] };
    }
    case "node_finished": {
      const id = String(data.node_id ?? data.id ?? "");
      const elapsed = typeof data.elapsed_time === "number" ? data.elapsed_time : undefined;
      return { ...state, taskId, nodes: state.nodes.map((n) => (n.id === id ? { ...n, status: String(data.status ?? "succeeded"), elapsed } : n)) };
    }
    case "text_chunk":
      return { ...state, text: state.text + String(data.text ?? "") };
    case "workflow_finished": {
      const status = data.status === "succeeded" ? "succeeded" : data.status === "stopped" ? "stopped" : "failed";
      const outputs = data.outputs && typeof data.outputs === "object" ? (data.outputs as Record<string, unknown>) : null;
      return { ...state, status, outputs, error: typeof data.error === "string" && data.error ? data.error : null, taskId: null };
    }
    case "error":
      return { ...state, status: "failed", error: String(event.message ?? "error"), taskId: null };
    default:
      return state;
  }
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/** The end-user workflow runner at `/workflow/{code}`: the form, node-by-node progress, the outputs. */
export default function WebWorkflowPage() {
  const { t } = useTranslation();
  const { code = "" } = useParams();
  const { site, params, error } = useWebApp(code);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [run, setRun] = useState<RunState>(IDLE);
  const [notice, setNotice] = useState<string | null>(null);
  const [runError, setRunError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);

  if (error) return <ErrorBox error={error} />;
  if (!site || !params) return <Loading />;
  const form = params.user_input_form ?? [];
  const start = async () => {
    const missing = missingInputs(form, inputs);
    setNotice(missing.length ? t("chat.missingInputs", { names: missing.join(", ") }) : null);
    if (missing.length) return;
    setRunError(null);
    setRun({ ...IDLE, status: "running" });
    const controller = new AbortController();
    abort.current = controller;
    try {
      const response = await webFetch(code, "post", "/api/workflows/run", { inputs, response_mode: "streaming" }, controller.signal);
      await readEvents(response, (event) => setRun((s) => applyRunEvent(s, event)));
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "AbortError")) setRunError(e);
      setRun((s) => (s.status === "running" ? { ...s, status: "stopped" } : s));
    } finally {
      abort.current = null;
    }
  };
  const stop = () => {
    if (run.taskId) void webFetch(code, "post", `/api/workflows/tasks/${run.taskId}/stop`, {}).catch(() => undefined);
    abort.current?.abort();
  };
  const badge = (status: string) =>
    status === "succeeded" ? "badge badge-green" : status === "failed" ? "badge badge-red" : status === "running" ? "badge badge-blue" : "badge";
  return (
    <div style={{ minHeight: "100vh", background: "var(--bg)" }} data-testid="webapp-workflow">
      <div className="webapp-head" style={{ background: "#fff" }}>
        <div className="row">
          <span className="app-icon" style={{ width: 32, height: 32, fontSize: 16 }}>
            {site.site.icon ?? "⚙"}
          </span>
          <h2>{site.site.title}</h2>
        </div>
        <div style={{ width: 140 }}>
          <LanguageSwitch />
        </div>
      </div>
      <div className="gen-layout">
        <section className="panel stack">
          {site.site.description ? <p className="muted">{site.site.description}</p> : null}
          <InputsForm form={form} values={inputs} onChange={setInputs} />
          {notice ? <div className="notice">{notice}</div> : null}
          <div className="row">
            <button type="button" className="btn btn-primary" data-testid="workflow-run" disabled={run.status === "running"} onClick={() => void start()}>
              {run.status === "running" ? t("workflowRun.running") : t("workflowRun.run")}
            </button>
            {run.status === "running" ? (
              <button type="button" className="btn" onClick={stop}>
                {t("workflowRun.stop")}
              </button>
            ) : null}
          </div>
        </section>
        <section className="panel stack">
          <div className="row-between">
            <h3>{t("workflowRun.progress")}</h3>
            {run.status !== "idle" ? (
              <span className={badge(run.status)} data-testid="workflow-status">
                {run.status === "running" ? t("workflowRun.running") : t(`workflowRun.${run.status}`)}
              </span>
            ) : null}
          </div>
          <ErrorBox error={runError} />
          {run.status === "idle" ? <span className="muted">{t("workflowRun.empty")}</span> : null}
          <ol className="node-progress" data-testid="workflow-nodes">
            {run.nodes.map((n) => (
              <li key={n.id} className="row-between">
                <span>
                  {n.title} <span className="muted small">{n.type}</span>
                </span>
                <span className="small">
                  {n.elapsed !== undefined ? `${n.elapsed.toFixed(2)} s ` : ""}
                  <span className={badge(n.status)}>{n.status}</span>
                </span>
              </li>
            ))}
          </ol>
          {run.error ? (
            <div className="alert" role="alert">
              {run.error}
            </div>
          ) : null}
          {run.text && !run.outputs ? <Markdown text={run.text} /> : null}
          {run.outputs ? (
            <div className="stack" data-testid="workflow-outputs">
              <h3>{t("workflowRun.outputs")}</h3>
              {Object.entries(run.outputs).map(([name, value]) => (
                <div key={name} className="stack" style={{ gap: 4 }}>
                  <span className="badge">{name}</span>
                  <div className="gen-output">{typeof value === "string" ? <Markdown text={value} /> : <pre className="code-block">{show(value)}</pre>}</div>
                </div>
              ))}
            </div>
          ) : null}
        </section>
      </div>
    </div>
  );
}

/** How nodes look on the canvas: a card per engine node, containers, inner start nodes, notes. */
import { Handle, NodeResizer, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useTranslation } from "react-i18next";
import { CONTAINERS, hasTarget, ICONS, sourceHandles } from "./catalog";
import { useCanvasView } from "./context";
import type { FlowNode } from "./graph";

function summary(data: FlowNode["data"]): string {
  const model = data.model as { provider?: string; name?: string } | undefined;
  switch (data.type) {
    case "llm":
    case "question-classifier":
    case "parameter-extractor":
      return model?.name ? `${model.provider ?? ""} / ${model.name}` : "";
    case "code":
      return data.code_language === "javascript" ? "JavaScript" : "Python 3";
    case "http-request":
      return `${String(data.method ?? "get").toUpperCase()} ${String(data.url ?? "")}`;
    case "tool":
      return String(data.tool_label || data.tool_name || "");
    case "start":
      return ((data.variables as { variable: string }[] | undefined) ?? []).map((v) => v.variable).join(", ");
    case "end":
      return ((data.outputs as { variable: string }[] | undefined) ?? []).map((v) => v.variable).join(", ");
    case "knowledge-retrieval":
      return `${((data.dataset_ids as string[] | undefined) ?? []).length} ⛁`;
    default:
      return "";
  }
}

function StatusBadge({ id }: { id: string }) {
  const { t } = useTranslation("canvas");
  const { executions } = useCanvasView();
  const run = executions[id];
  if (!run) return null;
  return (
    <span className={`node-status node-status-${run.status}`} data-testid="node-status" data-status={run.status} title={run.error ?? undefined}>
      {t(`status.${run.status}`, { defaultValue: run.status })}
      {run.elapsed_time !== null && run.status !== "running" ? ` · ${run.elapsed_time.toFixed(2)}s` : ""}
    </span>
  );
}

function IssueBadge({ id }: { id: string }) {
  const { t } = useTranslation("canvas");
  const issues = useCanvasView().issues.get(id) ?? [];
  if (!issues.length) return null;
  const errors = issues.filter((i) => i.severity === "error").length;
  return (
    <span className={errors ? "node-issue" : "node-issue node-issue-warning"} data-testid="node-issue" title={issues.map((i) => t(`issue.${i.code}`, { detail: i.detail ?? "" })).join("\n")}>
      ⚠ {issues.length}
    </span>
  );
}

function Card({ id, data, selected }: NodeProps<FlowNode>) {
  const { t } = useTranslation("canvas");
  const handles = sourceHandles(data);
  const multi = handles.length > 1 || handles.some((h) => h.label);
  const text = summary(data);
  const container = CONTAINERS.has(data.type);
  const { executions } = useCanvasView();
  const status = executions[id]?.status;
  return (
    <div
      className={`wf-node${container ? " wf-container" : ""}${selected ? " selected" : ""}${status ? ` run-${status}` : ""}`}
      data-testid="wf-node"
      data-kind={data.type}
      data-node-id={id}
    >
      {container ? <NodeResizer isVisible={selected} minWidth={320} minHeight={180} /> : null}
      {hasTarget(data.type) ? <Handle type="target" position={Position.Left} id="target" className="wf-handle" /> : null}
      <div className="wf-node-head">
        <span className={`wf-icon wf-icon-${data.type}`} aria-hidden="true">
          {ICONS[data.type] ?? "?"}
        </span>
        <span className="wf-title grow">{data.title || t(`kinds.${data.type}`, { defaultValue: data.type })}</span>
        <IssueBadge id={id} />
      </div>
      {text ? <div className="wf-node-summary">{text}</div> : null}
      <StatusBadge id={id} />
      {multi ? (
        <div className="wf-branches">
          {handles.map((h) => (
            <div className="wf-branch" key={h.id} data-handle={h.id}>
              <span>{h.label}</span>
              <Handle type="source" position={Position.Right} id={h.id} className={`wf-handle${h.id === "fail-branch" ? " wf-handle-fail" : ""}`} />
            </div>
          ))}
        </div>
      ) : handles.length === 1 ? (
        <Handle type="source" position={Position.Right} id={handles[0]?.id ?? "source"} className="wf-handle" />
      ) : null}
    </div>
  );
}

function InnerStart({ id, data }: NodeProps<FlowNode>) {
  return (
    <div className="wf-inner-start" data-testid="wf-node" data-kind={data.type} data-node-id={id}>
      {ICONS[data.type] ?? "▸"}
      <Handle type="source" position={Position.Right} id="source" className="wf-handle" />
    </div>
  );
}

const THEMES: Record<string, string> = { blue: "#dbeafe", cyan: "#cffafe", green: "#dcfce7", yellow: "#fef9c3", pink: "#fce7f3", violet: "#ede9fe" };

function Note({ data, selected }: NodeProps<FlowNode>) {
  const text = String(data.text ?? "");
  // Dify stores rich notes as a Lexical JSON document; show its plain text.
  let plain = text;
  if (text.startsWith("{")) {
    try {
      const collect = (n: unknown): string => {
        if (!n || typeof n !== "object") return "";
        const o = n as { text?: string; children?: unknown[]; type?: string };
        return (o.text ?? "") + (o.children ?? []).map(collect).join("") + (o.type === "paragraph" ? "\n" : "");
      };
      plain = collect((JSON.parse(text) as { root?: unknown }).root);
    } catch {
      plain = text;
    }
  }
  return (
    <div className="wf-note" data-testid="wf-node" data-kind="note" style={{ background: THEMES[String(data.theme)] ?? THEMES.yellow }}>
      <NodeResizer isVisible={selected} minWidth={160} minHeight={80} />
      <div className="wf-note-text">{plain}</div>
      {data.showAuthor && data.author ? <div className="muted small">— {String(data.author)}</div> : null}
    </div>
  );
}

export const NODE_TYPES = { custom: memo(Card), "custom-start": memo(InnerStart), "custom-note": memo(Note) };

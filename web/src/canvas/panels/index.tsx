/** The side panel of the selected node: its title and description, its type's fields, error handling, debugging. */
import { useState, type ComponentType } from "react";
import { useTranslation } from "react-i18next";
import { ErrorBox } from "../../components/ui";
import { ERROR_STRATEGY_KINDS, ICONS } from "../catalog";
import { ExecutionDetails } from "../inspect";
import type { NodeExecution } from "../run";
import { referencedSelectors, type Issue } from "../variables";
import { AgentPanel } from "./agent";
import { AnswerPanel } from "./answer";
import { AssignerPanel } from "./assigner";
import { CodePanel } from "./code";
import { DocumentExtractorPanel } from "./document-extractor";
import { EndPanel } from "./end";
import type { PanelProps } from "./fields";
import { HttpRequestPanel } from "./http-request";
import { IfElsePanel } from "./if-else";
import { IterationPanel } from "./iteration";
import { JsonPanel } from "./json";
import { KnowledgeRetrievalPanel } from "./knowledge-retrieval";
import { ListOperatorPanel } from "./list-operator";
import { LlmPanel } from "./llm";
import { LoopPanel } from "./loop";
import { NotePanel } from "./note";
import { ParameterExtractorPanel } from "./parameter-extractor";
import { QuestionClassifierPanel } from "./question-classifier";
import { StartPanel } from "./start";
import { TemplateTransformPanel } from "./template-transform";
import { ToolPanel } from "./tool";
import { VariableAggregatorPanel } from "./variable-aggregator";

export const PANELS: Record<string, ComponentType<PanelProps>> = {
  start: StartPanel,
  end: EndPanel,
  answer: AnswerPanel,
  llm: LlmPanel,
  "if-else": IfElsePanel,
  code: CodePanel,
  "template-transform": TemplateTransformPanel,
  "http-request": HttpRequestPanel,
  "variable-aggregator": VariableAggregatorPanel,
  "variable-assigner": VariableAggregatorPanel,
  iteration: IterationPanel,
  "knowledge-retrieval": KnowledgeRetrievalPanel,
  "question-classifier": QuestionClassifierPanel,
  "parameter-extractor": ParameterExtractorPanel,
  assigner: AssignerPanel,
  "list-operator": ListOperatorPanel,
  "document-extractor": DocumentExtractorPanel,
  tool: ToolPanel,
  agent: AgentPanel,
  loop: LoopPanel,
  "": NotePanel,
};

interface NodePanelProps extends PanelProps {
  issues: Issue[];
  execution: NodeExecution | undefined;
  onClose: () => void;
  onRunNode: (inputs: Record<string, unknown>) => Promise<NodeExecution>;
  onRerunFrom: (() => void) | null;
}

function ErrorHandling({ node, update }: PanelProps) {
  const { t } = useTranslation("canvas");
  const strategy = String(node.data.error_strategy ?? "");
  const retry = (node.data.retry_config as { retry_enabled?: boolean; max_retries?: number; retry_interval?: number } | undefined) ?? {};
  return (
    <section className="wf-section">
      <h4>{t("panel.errorHandling")}</h4>
      <div className="wf-row">
        <label className="wf-check">
          <input type="checkbox" checked={Boolean(retry.retry_enabled)} onChange={(e) => update({ retry_config: { max_retries: 3, retry_interval: 1000, ...retry, retry_enabled: e.target.checked } })} /> {t("panel.retry")}
        </label>
        {retry.retry_enabled ? (
          <input type="number" min={1} max={10} value={retry.max_retries ?? 3} aria-label={t("panel.maxRetries")} onChange={(e) => update({ retry_config: { ...retry, max_retries: Number(e.target.value) } })} />
        ) : null}
      </div>
      <select value={strategy} aria-label={t("panel.errorStrategy")} data-testid="error-strategy" onChange={(e) => update({ error_strategy: e.target.value || undefined })}>
        <option value="">{t("panel.strategyNone")}</option>
        <option value="default-value">{t("panel.strategyDefault")}</option>
        <option value="fail-branch">{t("panel.strategyFailBranch")}</option>
      </select>
    </section>
  );
}

function SingleRun({ node, onRunNode }: { node: PanelProps["node"]; onRunNode: NodePanelProps["onRunNode"] }) {
  const { t } = useTranslation("canvas");
  const refs = referencedSelectors(node.data).filter((s) => s[0] !== "env" && s[0] !== "sys");
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<NodeExecution | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const inputs: Record<string, unknown> = {};
      for (const s of refs) {
        const raw = values[s.join(".")] ?? "";
        try {
          inputs[s.join(".")] = raw.trim().startsWith("[") || raw.trim().startsWith("{") ? (JSON.parse(raw) as unknown) : raw;
        } catch {
          inputs[s.join(".")] = raw;
        }
      }
      setResult(await onRunNode(inputs));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stack-tight" data-testid="single-run">
      {refs.length === 0 ? <p className="muted small">{t("run.noInputsNeeded")}</p> : null}
      {refs.map((s) => (
        <div className="field" key={s.join(".")}>
          <label htmlFor={`single-${s.join(".")}`}>{`{{#${s.join(".")}#}}`}</label>
          <input id={`single-${s.join(".")}`} type="text" value={values[s.join(".")] ?? ""} onChange={(e) => setValues({ ...values, [s.join(".")]: e.target.value })} />
        </div>
      ))}
      <button type="button" className="btn btn-primary btn-small" disabled={busy} data-testid="single-run-start" onClick={() => void run()}>
        ▶ {t("run.runNode")}
      </button>
      <ErrorBox error={error} />
      {result ? <ExecutionDetails execution={result} /> : null}
    </div>
  );
}

export function NodePanel(props: NodePanelProps) {
  const { t } = useTranslation("canvas");
  const { node, update, issues, execution } = props;
  const [tab, setTab] = useState<"settings" | "last" | "single">("settings");
  const [asJson, setAsJson] = useState(false);
  const own = PANELS[node.data.type];
  const Body = own && !asJson ? own : JsonPanel;
  const runnable = node.data.type !== "" && node.type !== "custom-note" && node.data.type !== "start" && !node.data.type.endsWith("-start");
  return (
    <aside className="wf-panel" data-testid="node-panel" data-kind={node.data.type}>
      <div className="wf-panel-head">
        <span className={`wf-icon wf-icon-${node.data.type}`}>{ICONS[node.data.type || "note"]}</span>
        <input
          className="wf-panel-title grow"
          type="text"
          value={node.data.title}
          aria-label={t("panel.title")}
          data-testid="node-title"
          onChange={(e) => update({ title: e.target.value })}
        />
        <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.close")} onClick={props.onClose}>
          ✕
        </button>
      </div>
      <input className="wf-panel-desc" type="text" value={String(node.data.desc ?? "")} placeholder={t("panel.description")} aria-label={t("panel.description")} onChange={(e) => update({ desc: e.target.value })} />
      {runnable ? (
        <div className="segmented small">
          <button type="button" className={tab === "settings" ? "active" : ""} onClick={() => setTab("settings")}>
            {t("panel.settings")}
          </button>
          <button type="button" className={tab === "last" ? "active" : ""} data-testid="tab-last-run" onClick={() => setTab("last")}>
            {t("panel.lastRun")}
          </button>
          <button type="button" className={tab === "single" ? "active" : ""} data-testid="tab-single-run" onClick={() => setTab("single")}>
            {t("panel.singleRun")}
          </button>
        </div>
      ) : null}
      {issues.length ? (
        <ul className="wf-issues" data-testid="panel-issues">
          {issues.map((i, k) => (
            <li key={k} className={i.severity}>
              {t(`issue.${i.code}`, { detail: i.detail ? t(`fields.${i.detail}`, { defaultValue: i.detail }) : "" })}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="wf-panel-body">
        {tab === "settings" || !runnable ? (
          <>
            <Body {...props} />
            {own && node.data.type !== "" ? (
              <button type="button" className="linklike small" data-testid="edit-as-json" onClick={() => setAsJson(!asJson)}>
                {asJson ? t("panel.backToForm") : t("panel.editAsJson")}
              </button>
            ) : null}
            {ERROR_STRATEGY_KINDS.has(node.data.type) ? <ErrorHandling {...props} /> : null}
          </>
        ) : tab === "last" ? (
          execution ? (
            <>
              <ExecutionDetails execution={execution} />
              {props.onRerunFrom ? (
                <button type="button" className="btn btn-small" data-testid="rerun-from" onClick={props.onRerunFrom}>
                  ↻ {t("run.rerunFrom")}
                </button>
              ) : null}
            </>
          ) : (
            <p className="muted">{t("run.notRun")}</p>
          )
        ) : (
          <SingleRun key={node.id} node={node} onRunNode={props.onRunNode} />
        )}
      </div>
    </aside>
  );
}

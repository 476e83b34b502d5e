/** One node execution in detail: status, time, tokens, inputs, process data, outputs, error. */
import { useTranslation } from "react-i18next";
import { tokensOf, type NodeExecution } from "./run";

export function Json({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="wf-json-view" data-testid={testId}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function ExecutionDetails({ execution }: { execution: NodeExecution }) {
  const { t } = useTranslation("canvas");
  const tokens = tokensOf(execution);
  return (
    <div className="stack-tight" data-testid="node-execution">
      <div className="row wrap small">
        <span className={`node-status node-status-${execution.status}`}>{t(`status.${execution.status}`, { defaultValue: execution.status })}</span>
        {execution.elapsed_time !== null ? <span className="muted">{t("run.elapsed", { seconds: execution.elapsed_time.toFixed(3) })}</span> : null}
        {tokens !== null ? <span className="muted">{t("run.tokens", { count: tokens })}</span> : null}
      </div>
      {execution.error ? (
        <div className="alert" data-testid="node-error">
          {execution.error}
        </div>
      ) : null}
      {execution.inputs ? (
        <details open>
          <summary>{t("run.inputs")}</summary>
          <Json value={execution.inputs} testId="node-inputs" />
        </details>
      ) : null}
      {execution.process_data ? (
        <details>
          <summary>{t("run.processData")}</summary>
          <Json value={execution.process_data} />
        </details>
      ) : null}
      {execution.outputs ? (
        <details open>
          <summary>{t("run.outputs")}</summary>
          <Json value={execution.outputs} testId="node-outputs" />
        </details>
      ) : null}
    </div>
  );
}

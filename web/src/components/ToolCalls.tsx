import { useTranslation } from "react-i18next";
import type { AgentThought } from "../api/models";

export interface ToolCall {
  key: string;
  tool: string;
  input: string;
  output: string | null;
}

function parsed(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The tool calls of an agent's thoughts: `tool` is `a;b`, input and observation are JSON keyed by tool name. */
export function toolCalls(thoughts: AgentThought[]): ToolCall[] {
  return thoughts.flatMap((step, i) => {
    const names = (step.tool ?? "").split(";").map((n) => n.trim()).filter(Boolean);
    const inputs = parsed(step.tool_input);
    const outputs = parsed(step.observation);
    return names.map((tool) => ({
      key: `${step.id ?? i}/${tool}`,
      tool,
      input: inputs && tool in inputs ? shown(inputs[tool]) : names.length === 1 ? (step.tool_input ?? "") : "",
      output: outputs && tool in outputs ? shown(outputs[tool]) : names.length === 1 && step.observation ? step.observation : null,
    }));
  });
}

/** Upsert one streamed `agent_thought` event (the same id comes again as the step learns more). */
export function mergeThought(thoughts: AgentThought[], event: AgentThought): AgentThought[] {
  const at = thoughts.findIndex((x) => x.id !== undefined && x.id === event.id);
  return at < 0 ? [...thoughts, event] : thoughts.map((x, i) => (i === at ? { ...x, ...event } : x));
}

/** The tools an agent called while answering, each folded open on its input and what it answered. */
export function ToolCalls({ thoughts }: { thoughts: AgentThought[] }) {
  const { t } = useTranslation();
  const calls = toolCalls(thoughts);
  if (calls.length === 0) return null;
  return (
    <div className="stack" style={{ gap: 4, marginBottom: 6 }} data-testid="tool-calls">
      {calls.map((call) => (
        <details key={call.key} className="segment small" data-testid="tool-call" data-tool={call.tool} data-done={call.output !== null}>
          <summary>
            {t("logs.tool")}: <strong>{call.tool}</strong>
            {call.output === null ? <span className="muted"> · {t("chat.thinking")}</span> : null}
          </summary>
          <div className="stack" style={{ gap: 2, marginTop: 4 }}>
            <span className="muted">{t("logs.toolInput")}</span>
            <code className="mono" data-testid="tool-call-input">
              {call.input}
            </code>
            {call.output !== null ? (
              <>
                <span className="muted">{t("logs.toolOutput")}</span>
                <code className="mono" data-testid="tool-call-output">
                  {call.output}
                </code>
              </>
            ) : null}
          </div>
        </details>
      ))}
    </div>
  );
}

import { useTranslation } from "react-i18next";
import { ModelSelect, Section, TemplateField, type PanelProps } from "./fields";
import { findTool, localized, ToolSelect, toolKey, useToolProviders } from "./tool";

interface Param<T> {
  type: "constant" | "mixed" | "variable";
  value: T;
}
interface AgentTool {
  enabled: boolean;
  type: string;
  provider_id?: string;
  provider_name: string;
  tool_name: string;
  tool_label: string;
  settings: Record<string, { value: unknown }>;
  parameters: Record<string, { auto: 0 | 1; value: unknown }>;
  extra?: { description?: string };
}
interface ModelValue {
  provider?: string;
  model?: string;
  model_type?: string;
  mode?: string;
  completion_params?: Record<string, unknown>;
  type?: string;
}

export const AGENT_PROVIDER = "langgenius/agent/agent";
export const STRATEGIES = [
  { name: "function_calling", label: "FunctionCalling" },
  { name: "ReAct", label: "ReAct" },
];

/** Agent: the strategy (function calling or ReAct), its model, tools, instruction, query and round limit. */
export function AgentPanel({ node, update, ctx }: PanelProps) {
  const { t, i18n } = useTranslation("canvas");
  const d = node.data;
  const { providers } = useToolProviders();
  const params = (d.agent_parameters as Record<string, Param<unknown>> | undefined) ?? {};
  const setParam = (name: string, value: Param<unknown> | undefined) => update({ agent_parameters: { ...params, [name]: value } });
  const model = (params.model?.value as ModelValue | undefined) ?? {};
  const tools = (params.tools?.value as AgentTool[] | undefined) ?? [];
  const setTools = (next: AgentTool[]) => setParam("tools", { type: "constant", value: next });
  const strategy = String(d.agent_strategy_name || "");
  return (
    <>
      <Section title={t("panel.strategy")}>
        <select
          value={strategy}
          aria-label={t("panel.strategy")}
          data-testid="agent-strategy"
          onChange={(e) => {
            const picked = STRATEGIES.find((s) => s.name === e.target.value);
            update({ agent_strategy_provider_name: picked ? AGENT_PROVIDER : "", agent_strategy_name: picked?.name ?? "", agent_strategy_label: picked?.label ?? "" });
          }}
        >
          <option value="">{t("panel.pickStrategy")}</option>
          {strategy && !STRATEGIES.some((s) => s.name === strategy) ? <option value={strategy}>{`${String(d.agent_strategy_provider_name ?? "")}/${strategy}`}</option> : null}
          {STRATEGIES.map((s) => (
            <option key={s.name} value={s.name}>
              {s.label}
            </option>
          ))}
        </select>
      </Section>
      <Section title={t("panel.model")}>
        <ModelSelect
          value={{ provider: model.provider, name: model.model }}
          models={ctx.models}
          onChange={(provider, name) => setParam("model", { type: "constant", value: { completion_params: {}, mode: "chat", ...model, provider, model: name, model_type: "llm", type: "model-selector" } })}
        />
      </Section>
      <Section title={t("panel.tools")}>
        <div className="stack-tight" data-testid="agent-tools">
          {tools.map((tool, i) => {
            const found = findTool(providers, tool.type, tool.provider_id || tool.provider_name, tool.tool_name);
            return (
              <div className="wf-row" key={`${tool.provider_name}/${tool.tool_name}/${i}`} data-testid="agent-tool">
                <input type="checkbox" aria-label={t("panel.enabled")} checked={tool.enabled !== false} onChange={(e) => setTools(tools.map((x, j) => (j === i ? { ...x, enabled: e.target.checked } : x)))} />
                <span className="grow">
                  {tool.tool_label || tool.tool_name} <span className="muted small">{tool.provider_name}</span>
                  {found ? null : <span className="field-error small"> ({t("panel.toolMissing")})</span>}
                </span>
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => setTools(tools.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </div>
            );
          })}
          <ToolSelect
            providers={providers}
            value=""
            testId="agent-add-tool"
            onChange={(provider, tool) => {
              if (tools.some((x) => toolKey(x.type, x.provider_id || x.provider_name, x.tool_name) === toolKey(provider.type, provider.id, tool.name))) return;
              const settings: AgentTool["settings"] = {};
              const parameters: AgentTool["parameters"] = {};
              for (const p of tool.parameters ?? []) {
                if (p.form === "llm") parameters[p.name] = { auto: 1, value: null };
                else settings[p.name] = { value: p.default ?? null };
              }
              setTools([
                ...tools,
                { enabled: true, type: provider.type, provider_id: provider.id, provider_name: provider.name, tool_name: tool.name, tool_label: localized(tool.label, i18n.language, tool.name), settings, parameters, extra: { description: localized(tool.description, "en-US") } },
              ]);
            }}
          />
        </div>
      </Section>
      <Section title={t("panel.instruction")}>
        <TemplateField value={String(params.instruction?.value ?? "")} groups={ctx.groups} testId="agent-instruction" onChange={(v) => setParam("instruction", { type: "mixed", value: v })} />
      </Section>
      <Section title={t("panel.query")}>
        <TemplateField value={String(params.query?.value ?? "")} groups={ctx.groups} rows={2} testId="agent-query" onChange={(v) => setParam("query", { type: "mixed", value: v })} />
      </Section>
      <Section title={t("panel.maxIterations")}>
        <input
          type="number"
          min={1}
          max={99}
          value={Number(params.maximum_iterations?.value ?? 3)}
          aria-label={t("panel.maxIterations")}
          data-testid="agent-iterations"
          onChange={(e) => setParam("maximum_iterations", { type: "constant", value: Number(e.target.value) })}
        />
      </Section>
    </>
  );
}

import { useTranslation } from "react-i18next";
import { ModelSelect, Section, TemplateField, VarPicker, type PanelProps } from "./fields";

export interface ExtractorParameter {
  name: string;
  type: string;
  description: string;
  required: boolean;
  options?: string[];
}

/** Dify's parameter types for the extractor. */
export const PARAMETER_TYPES = ["string", "number", "bool", "select", "array[string]", "array[number]", "array[object]"];

/** Parameter extractor: model, the text to read, the parameters to pull out, instructions, reasoning mode. */
export function ParameterExtractorPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const model = (d.model as { provider?: string; name?: string } | undefined) ?? {};
  const params = (d.parameters as ExtractorParameter[] | undefined) ?? [];
  const setParam = (i: number, patch: Partial<ExtractorParameter>) => update({ parameters: params.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  return (
    <>
      <Section title={t("panel.model")}>
        <ModelSelect value={model} models={ctx.models} onChange={(provider, name) => update({ model: { mode: "chat", completion_params: {}, ...model, provider, name } })} />
      </Section>
      <Section title={t("panel.inputVariable")}>
        <VarPicker value={d.query} groups={ctx.groups} accept={(x) => x === "string"} testId="extractor-query" onChange={(s) => update({ query: s })} />
      </Section>
      <Section
        title={t("panel.extractParameters")}
        action={
          <button type="button" className="btn btn-small" data-testid="extractor-add" onClick={() => update({ parameters: [...params, { name: "", type: "string", description: "", required: false }] })}>
            + {t("panel.addParameter")}
          </button>
        }
      >
        {params.map((p, i) => (
          <div className="wf-card stack-tight" key={i} data-testid="extractor-parameter">
            <div className="wf-row">
              <input type="text" className="wf-name" value={p.name} aria-label={t("panel.variableName")} placeholder={t("panel.variableName")} data-testid="extractor-name" onChange={(e) => setParam(i, { name: e.target.value })} />
              <select value={p.type} aria-label={t("panel.type")} data-testid="extractor-type" onChange={(e) => setParam(i, { type: e.target.value, ...(e.target.value === "select" ? { options: p.options ?? [] } : {}) })}>
                {PARAMETER_TYPES.map((x) => (
                  <option key={x} value={x}>
                    {x}
                  </option>
                ))}
              </select>
              <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => update({ parameters: params.filter((_, j) => j !== i) })}>
                ✕
              </button>
            </div>
            <input type="text" value={p.description} aria-label={t("panel.paramDescription")} placeholder={t("panel.paramDescription")} data-testid="extractor-description" onChange={(e) => setParam(i, { description: e.target.value })} />
            {p.type === "select" ? (
              <input
                type="text"
                value={(p.options ?? []).join(", ")}
                aria-label={t("panel.options")}
                placeholder={t("panel.options")}
                onChange={(e) => setParam(i, { options: e.target.value.split(",").map((o) => o.trim()).filter(Boolean) })}
              />
            ) : null}
            <label className="wf-check">
              <input type="checkbox" checked={Boolean(p.required)} data-testid="extractor-required" onChange={(e) => setParam(i, { required: e.target.checked })} /> {t("panel.required")}
            </label>
          </div>
        ))}
      </Section>
      <Section title={t("panel.instruction")}>
        <TemplateField value={String(d.instruction ?? "")} groups={ctx.groups} testId="extractor-instruction" onChange={(instruction) => update({ instruction })} />
      </Section>
      <Section title={t("panel.reasoningMode")}>
        <select value={String(d.reasoning_mode ?? "function_call")} aria-label={t("panel.reasoningMode")} data-testid="reasoning-mode" onChange={(e) => update({ reasoning_mode: e.target.value })}>
          <option value="function_call">{t("panel.functionCall")}</option>
          <option value="prompt">{t("panel.promptMode")}</option>
        </select>
      </Section>
    </>
  );
}

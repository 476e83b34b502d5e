import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { listToolProviders, type ToolInfo, type ToolParameter, type ToolProvider } from "../api";
import { Section, TemplateField, VarPicker, type PanelProps } from "./fields";
import type { VarGroup } from "../variables";

/** A label in the console's language (Dify's `{en_US, zh_Hans}` objects). */
export function localized(value: Record<string, string> | string | undefined, language: string, fallback = ""): string {
  if (!value) return fallback;
  if (typeof value === "string") return value;
  return (language.startsWith("zh") ? value.zh_Hans : undefined) ?? value.en_US ?? Object.values(value)[0] ?? fallback;
}

function optionsOf(p: ToolParameter): { value: string; label: string }[] {
  return (p.options ?? []).map((o) => (typeof o === "string" ? { value: o, label: o } : { value: o.value, label: o.label?.en_US ?? o.value }));
}

/** The workspace's tool providers, loaded once (shared by the tool and agent panels). */
export function useToolProviders(): { providers: ToolProvider[]; loading: boolean } {
  const [providers, setProviders] = useState<ToolProvider[]>([]);
  const [loading, setLoading] = useState(true);
  useEffect(() => {
    let live = true;
    listToolProviders()
      .then((p) => live && setProviders(p))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, []);
  return { providers, loading };
}

export const toolKey = (type: string, provider: string, tool: string) => `${type}\u0000${provider}\u0000${tool}`;

/** One select of every tool, grouped by provider. */
export function ToolSelect({ providers, value, onChange, testId }: { providers: ToolProvider[]; value: string; onChange: (provider: ToolProvider, tool: ToolInfo) => void; testId?: string }) {
  const { t, i18n } = useTranslation("canvas");
  const known = providers.some((p) => p.tools.some((x) => toolKey(p.type, p.id, x.name) === value));
  return (
    <select
      value={known ? value : ""}
      aria-label={t("panel.tool")}
      data-testid={testId ?? "tool-select"}
      onChange={(e) => {
        for (const p of providers) for (const x of p.tools) if (toolKey(p.type, p.id, x.name) === e.target.value) onChange(p, x);
      }}
    >
      <option value="">{value && !known ? `${value.split("\u0000").slice(1).join("/")} (${t("panel.toolMissing")})` : t("panel.pickTool")}</option>
      {providers
        .filter((p) => p.tools.length)
        .map((p) => (
          <optgroup key={`${p.type}:${p.id}`} label={`${localized(p.label, i18n.language, p.name)} · ${p.type}`}>
            {p.tools.map((x) => (
              <option key={x.name} value={toolKey(p.type, p.id, x.name)}>
                {localized(x.label, i18n.language, x.name)}
              </option>
            ))}
          </optgroup>
        ))}
    </select>
  );
}

interface ParamValue {
  type: "mixed" | "variable" | "constant";
  value: unknown;
}

/** The inputs of a tool's `llm`-form parameters: text with variables, a variable, or a constant. */
export function ToolInputs({ parameters, values, groups, onChange }: { parameters: ToolParameter[]; values: Record<string, ParamValue>; groups: VarGroup[]; onChange: (next: Record<string, ParamValue>) => void }) {
  const { t, i18n } = useTranslation("canvas");
  return (
    <>
      {parameters.map((p) => {
        // Old DSLs store a bare value instead of `{type, value}`.
        const stored = values[p.name] as unknown;
        const current: ParamValue | undefined =
          stored === undefined || stored === null ? undefined : typeof stored === "object" && !Array.isArray(stored) && "type" in stored ? (stored as ParamValue) : { type: "constant", value: stored };
        const textual = p.type === "string" || p.type === "secret-input";
        const kind = current?.type ?? (textual ? "mixed" : "constant");
        const set = (v: ParamValue) => onChange({ ...values, [p.name]: v });
        return (
          <div className="field" key={p.name} data-testid={`tool-param-${p.name}`}>
            <div className="row-between">
              <label className="small">
                {localized(p.label, i18n.language, p.name)} {p.required ? <span className="field-error">*</span> : null} <span className="muted">{p.type}</span>
              </label>
              <select value={kind} aria-label={t("panel.valueSource")} onChange={(e) => set({ type: e.target.value as ParamValue["type"], value: e.target.value === "variable" ? [] : "" })}>
                {textual ? <option value="mixed">{t("panel.text")}</option> : <option value="constant">{t("panel.constant")}</option>}
                <option value="variable">{t("panel.variable")}</option>
              </select>
            </div>
            {kind === "variable" ? (
              <VarPicker value={current?.value} groups={groups} onChange={(s) => set({ type: "variable", value: s })} />
            ) : kind === "mixed" ? (
              <TemplateField value={String(current?.value ?? "")} groups={groups} rows={2} testId={`tool-input-${p.name}`} onChange={(v) => set({ type: "mixed", value: v })} />
            ) : (
              <ConstantInput param={p} value={current?.value} onChange={(v) => set({ type: "constant", value: v })} />
            )}
            {p.human_description ? <p className="muted small">{localized(p.human_description, i18n.language)}</p> : null}
          </div>
        );
      })}
    </>
  );
}

function ConstantInput({ param, value, onChange }: { param: ToolParameter; value: unknown; onChange: (v: unknown) => void }) {
  const { t } = useTranslation("canvas");
  if (param.type === "boolean") return <input type="checkbox" checked={Boolean(value)} aria-label={param.name} onChange={(e) => onChange(e.target.checked)} />;
  if (param.type === "select")
    return (
      <select value={String(value ?? "")} aria-label={param.name} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t("panel.pick")}</option>
        {optionsOf(param).map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  if (param.type === "number") return <input type="number" value={value === undefined || value === null ? "" : String(value)} aria-label={param.name} onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))} />;
  return <input type="text" value={String(value ?? "")} aria-label={param.name} onChange={(e) => onChange(e.target.value)} />;
}

/** The tool's `form`-form parameters: settings fixed when the node is built. */
export function ToolSettings({ parameters, values, onChange }: { parameters: ToolParameter[]; values: Record<string, unknown>; onChange: (next: Record<string, unknown>) => void }) {
  const { i18n } = useTranslation("canvas");
  return (
    <>
      {parameters.map((p) => (
        <div className="field" key={p.name} data-testid={`tool-setting-${p.name}`}>
          <label className="small">
            {localized(p.label, i18n.language, p.name)} {p.required ? <span className="field-error">*</span> : null}
          </label>
          <ConstantInput param={p} value={values[p.name]} onChange={(v) => onChange({ ...values, [p.name]: v })} />
        </div>
      ))}
    </>
  );
}

export function findTool(providers: ToolProvider[], type: string, providerId: string, name: string): { provider: ToolProvider; tool: ToolInfo } | null {
  for (const p of providers) {
    if (p.type !== type || (p.id !== providerId && p.name !== providerId)) continue;
    const tool = p.tools.find((x) => x.name === name);
    if (tool) return { provider: p, tool };
  }
  return null;
}

/** Tool: the provider and tool, its inputs (from upstream variables) and its settings. */
export function ToolPanel({ node, update, ctx }: PanelProps) {
  const { t, i18n } = useTranslation("canvas");
  const d = node.data;
  const { providers, loading } = useToolProviders();
  const type = String(d.provider_type ?? "builtin");
  const providerId = String(d.provider_id || d.provider_name || "");
  const name = String(d.tool_name ?? "");
  const found = findTool(providers, type, providerId, name);
  const params = found?.tool.parameters ?? [];
  const inputs = params.filter((p) => p.form === "llm");
  const settings = params.filter((p) => p.form !== "llm");
  return (
    <>
      <Section title={t("panel.tool")}>
        <ToolSelect
          providers={providers}
          value={name ? `${type}\u0000${providerId}\u0000${name}` : ""}
          onChange={(provider, tool) => {
            const defaults: Record<string, unknown> = {};
            for (const p of tool.parameters ?? []) if (p.form !== "llm" && p.default !== undefined && p.default !== null) defaults[p.name] = p.default;
            update({
              provider_id: provider.id,
              provider_type: provider.type,
              provider_name: provider.name,
              tool_name: tool.name,
              tool_label: localized(tool.label, i18n.language, tool.name),
              tool_description: localized(tool.description, "en-US"),
              tool_parameters: {},
              tool_configurations: defaults,
              // A node still named after its kind takes the tool's name.
              title: !d.title || d.title.startsWith(t("kinds.tool")) ? localized(tool.label, i18n.language, tool.name) : d.title,
            });
          }}
        />
        {loading ? <p className="muted small">…</p> : null}
        {name && !found && !loading ? <p className="field-error">{t("panel.toolNotInstalled", { tool: `${providerId}/${name}` })}</p> : null}
        {found && found.provider.is_team_authorization === false ? <p className="field-error">{t("panel.toolNeedsAuth")}</p> : null}
      </Section>
      {inputs.length ? (
        <Section title={t("panel.toolInputs")}>
          <ToolInputs parameters={inputs} values={(d.tool_parameters as Record<string, ParamValue> | undefined) ?? {}} groups={ctx.groups} onChange={(tool_parameters) => update({ tool_parameters })} />
        </Section>
      ) : null}
      {settings.length ? (
        <Section title={t("panel.toolSettings")}>
          <ToolSettings parameters={settings} values={(d.tool_configurations as Record<string, unknown> | undefined) ?? {}} onChange={(tool_configurations) => update({ tool_configurations })} />
        </Section>
      ) : null}
    </>
  );
}

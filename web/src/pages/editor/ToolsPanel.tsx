import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { AgentTool, ModelConfig, ToolProvider, ToolSpec } from "../../api/models";
import { ErrorBox, Modal, Switch } from "../../components/ui";
import { localized } from "../../lib/params";

/** `agent_mode.tools` entries that name a tool (knowledge entries of old DSLs are left alone). */
export function agentTools(config: ModelConfig): AgentTool[] {
  return (config.agent_mode.tools ?? []).filter((t): t is AgentTool => typeof t === "object" && t !== null && "tool_name" in t);
}

/** The `agent_mode.tools` item for one tool, with its form parameters at their defaults. */
export function toolEntry(provider: ToolProvider, tool: ToolSpec, language: string): AgentTool {
  const parameters: Record<string, unknown> = {};
  for (const p of tool.parameters) if (p.form === "form") parameters[p.name] = p.default ?? "";
  return {
    provider_type: provider.type,
    provider_id: provider.type === "builtin" ? provider.name : provider.id,
    provider_name: provider.name,
    tool_name: tool.name,
    tool_label: localized(tool.label, language) || tool.name,
    tool_parameters: parameters,
    enabled: true,
  };
}

const same = (a: AgentTool, b: AgentTool) => a.provider_type === b.provider_type && a.provider_id === b.provider_id && a.tool_name === b.tool_name;

/** The agent tools picker: the tools the agent may call, its strategy and its iteration bound. */
export function ToolsPanel({ config, onChange }: { config: ModelConfig; onChange: (patch: Partial<ModelConfig>) => void }) {
  const { t, i18n } = useTranslation();
  const [providers, setProviders] = useState<ToolProvider[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [picking, setPicking] = useState(false);
  const [search, setSearch] = useState("");
  const tools = agentTools(config);
  const others = (config.agent_mode.tools ?? []).filter((x) => !tools.includes(x as AgentTool));
  useEffect(() => {
    api<ToolProvider[]>("get", "/console/api/workspaces/current/tool-providers").then(setProviders).catch(setError);
  }, []);
  const setTools = (next: AgentTool[]) => onChange({ agent_mode: { ...config.agent_mode, enabled: true, tools: [...others, ...next] } });
  const agent = config.agent_mode;
  const needle = search.trim().toLowerCase();
  return (
    <section className="panel stack" data-testid="tools-panel">
      <div className="panel-head" style={{ marginBottom: 0 }}>
        <div>
          <h2>{t("tools.title")}</h2>
          <span className="muted small">{t("tools.hint")}</span>
        </div>
        <button type="button" className="btn btn-small" data-testid="tools-add" onClick={() => setPicking(true)}>
          + {t("tools.add")}
        </button>
      </div>
      <ErrorBox error={error} />
      <div className="row wrap" style={{ gap: 16 }}>
        <label className="row small">
          {t("tools.strategy")}
          <select style={{ width: 170 }} value={agent.strategy ?? "function_call"} onChange={(e) => onChange({ agent_mode: { ...agent, strategy: e.target.value } })}>
            <option value="function_call">{t("tools.strategies.function_call")}</option>
            <option value="react">{t("tools.strategies.react")}</option>
          </select>
        </label>
        <label className="row small">
          {t("tools.maxIteration")}
          <input type="number" min={1} max={99} style={{ width: 70 }} value={agent.max_iteration ?? 5} onChange={(e) => onChange({ agent_mode: { ...agent, max_iteration: Number(e.target.value) } })} />
        </label>
      </div>
      {tools.length === 0 ? <p className="muted small">{t("tools.none")}</p> : null}
      {tools.map((tool, i) => {
        const provider = providers?.find((p) => (p.type === "builtin" ? p.name : p.id) === tool.provider_id);
        const spec = provider?.tools.find((s) => s.name === tool.tool_name);
        const formParams = spec?.parameters.filter((p) => p.form === "form") ?? [];
        return (
          <div key={`${tool.provider_id}/${tool.tool_name}`} className="feature" data-testid="agent-tool">
            <div className="feature-head">
              <div>
                <strong>{tool.tool_label || tool.tool_name}</strong>
                <div className="muted small">
                  {provider ? localized(provider.label, i18n.language) || provider.name : tool.provider_name} · {t(`tools.kinds.${tool.provider_type}`, { defaultValue: tool.provider_type })}
                  {provider && !provider.is_team_authorization ? <span className="badge badge-amber" style={{ marginLeft: 6 }}>{t("tools.unauthorized")}</span> : null}
                </div>
              </div>
              <div className="row">
                <Switch checked={tool.enabled} label={tool.tool_name} onChange={(enabled) => setTools(tools.map((x, j) => (j === i ? { ...x, enabled } : x)))} />
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("tools.remove")} onClick={() => setTools(tools.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </div>
            </div>
            {formParams.map((p) => (
              <label key={p.name} className="field">
                <span>
                  {localized(p.label, i18n.language) || p.name}
                  {p.required ? " *" : ""}
                </span>
                {p.options && p.options.length ? (
                  <select value={String(tool.tool_parameters[p.name] ?? "")} onChange={(e) => setTools(tools.map((x, j) => (j === i ? { ...x, tool_parameters: { ...x.tool_parameters, [p.name]: e.target.value } } : x)))}>
                    <option value="">—</option>
                    {p.options.map((o) => (
                      <option key={o.value} value={o.value}>
                        {localized(o.label, i18n.language) || o.value}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input type="text" value={String(tool.tool_parameters[p.name] ?? "")} onChange={(e) => setTools(tools.map((x, j) => (j === i ? { ...x, tool_parameters: { ...x.tool_parameters, [p.name]: e.target.value } } : x)))} />
                )}
              </label>
            ))}
          </div>
        );
      })}
      {picking ? (
        <Modal title={t("tools.pick")} wide onClose={() => setPicking(false)}>
          <input type="search" aria-label={t("tools.search")} placeholder={t("tools.search")} value={search} autoFocus onChange={(e) => setSearch(e.target.value)} />
          <div className="stack tool-picker" data-testid="tool-picker">
            {(providers ?? []).map((p) => {
              const matching = p.tools.filter(
                (tool) => !needle || `${p.name} ${localized(p.label, i18n.language)} ${tool.name} ${localized(tool.label, i18n.language)}`.toLowerCase().includes(needle),
              );
              if (matching.length === 0) return null;
              return (
                <div key={`${p.type}/${p.id}`} className="stack" style={{ gap: 4 }}>
                  <div className="row small">
                    <strong>{localized(p.label, i18n.language) || p.name}</strong>
                    <span className="badge">{t(`tools.kinds.${p.type}`, { defaultValue: p.type })}</span>
                    {!p.is_team_authorization ? <span className="badge badge-amber">{t("tools.unauthorized")}</span> : null}
                  </div>
                  {matching.map((tool) => {
                    const entry = toolEntry(p, tool, i18n.language);
                    const added = tools.some((x) => same(x, entry));
                    return (
                      <div key={tool.name} className="row-between tool-row">
                        <div className="grow">
                          <div>{localized(tool.label, i18n.language) || tool.name}</div>
                          <div className="muted small ellipsis">{localized(tool.description, i18n.language)}</div>
                        </div>
                        <button type="button" className="btn btn-small" data-testid={`pick-tool-${tool.name}`} disabled={added} onClick={() => setTools([...tools, entry])}>
                          {added ? t("tools.added") : `+ ${t("tools.add")}`}
                        </button>
                      </div>
                    );
                  })}
                </div>
              );
            })}
          </div>
        </Modal>
      ) : null}
    </section>
  );
}

import { useTranslation } from "react-i18next";
import { ModelSelect, Section, TemplateField, VarPicker, type PanelProps } from "./fields";

interface PromptMessage {
  id?: string;
  role: string;
  text: string;
  edition_type?: string;
}

/** LLM: model, prompt messages with variable insertion, context, memory (chatflows), vision. */
export function LlmPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const model = (d.model as { provider?: string; name?: string; mode?: string; completion_params?: Record<string, unknown> } | undefined) ?? {};
  const completion = !Array.isArray(d.prompt_template);
  const messages: PromptMessage[] = completion ? [] : (d.prompt_template as PromptMessage[]);
  const context = (d.context as { enabled?: boolean; variable_selector?: string[] } | undefined) ?? { enabled: false, variable_selector: [] };
  const memory = d.memory as { window?: { enabled?: boolean; size?: number }; query_prompt_template?: string } | undefined;
  const params = model.completion_params ?? {};
  const setMessages = (next: PromptMessage[]) => update({ prompt_template: next });
  const extra = context.enabled ? ["context"] : [];
  return (
    <>
      <Section title={t("panel.model")}>
        <ModelSelect value={model} models={ctx.models} onChange={(provider, name) => update({ model: { ...model, provider, name, mode: model.mode ?? "chat", completion_params: params } })} />
        <div className="wf-row">
          <label className="small muted" htmlFor={`${node.id}-temp`}>
            temperature
          </label>
          <input
            id={`${node.id}-temp`}
            type="number"
            step="0.1"
            min="0"
            max="2"
            value={typeof params.temperature === "number" ? params.temperature : ""}
            onChange={(e) => update({ model: { ...model, completion_params: { ...params, temperature: e.target.value === "" ? undefined : Number(e.target.value) } } })}
          />
        </div>
      </Section>
      <Section title={t("panel.context")} action={<input type="checkbox" aria-label={t("panel.context")} checked={Boolean(context.enabled)} onChange={(e) => update({ context: { ...context, enabled: e.target.checked } })} />}>
        {context.enabled ? (
          <>
            <VarPicker value={context.variable_selector} groups={ctx.groups} onChange={(s) => update({ context: { ...context, variable_selector: s } })} />
            <p className="muted small">{t("panel.contextHint")}</p>
          </>
        ) : null}
      </Section>
      <Section
        title={t("panel.prompt")}
        action={
          completion ? null : (
            <button type="button" className="btn btn-small" onClick={() => setMessages([...messages, { role: messages.at(-1)?.role === "user" ? "assistant" : "user", text: "" }])}>
              + {t("panel.addMessage")}
            </button>
          )
        }
      >
        {completion ? (
          <TemplateField value={String((d.prompt_template as { text?: string } | undefined)?.text ?? "")} groups={ctx.groups} extra={extra} testId="prompt-0" onChange={(text) => update({ prompt_template: { ...(d.prompt_template as object), text } })} />
        ) : (
          messages.map((m, i) => (
            <div className="wf-card" key={m.id ?? i}>
              <div className="row-between">
                <select
                  value={m.role}
                  aria-label={t("panel.role")}
                  disabled={i === 0 && m.role === "system"}
                  onChange={(e) => setMessages(messages.map((x, j) => (j === i ? { ...x, role: e.target.value } : x)))}
                >
                  <option value="system">SYSTEM</option>
                  <option value="user">USER</option>
                  <option value="assistant">ASSISTANT</option>
                </select>
                {i > 0 ? (
                  <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => setMessages(messages.filter((_, j) => j !== i))}>
                    ✕
                  </button>
                ) : null}
              </div>
              <TemplateField value={m.text} groups={ctx.groups} extra={extra} testId={`prompt-${i}`} onChange={(text) => setMessages(messages.map((x, j) => (j === i ? { ...x, text } : x)))} />
            </div>
          ))
        )}
      </Section>
      {ctx.mode === "advanced-chat" ? (
        <Section
          title={t("panel.memory")}
          action={
            <input
              type="checkbox"
              aria-label={t("panel.memory")}
              data-testid="memory-toggle"
              checked={Boolean(memory?.window?.enabled)}
              onChange={(e) => update({ memory: { query_prompt_template: "{{#sys.query#}}", ...memory, window: { size: 10, ...memory?.window, enabled: e.target.checked } } })}
            />
          }
        >
          {memory?.window?.enabled ? (
            <div className="wf-row">
              <label className="small muted">{t("panel.window")}</label>
              <input type="number" min={1} max={100} value={memory.window.size ?? 10} onChange={(e) => update({ memory: { ...memory, window: { ...memory.window, size: Number(e.target.value) } } })} />
            </div>
          ) : null}
        </Section>
      ) : null}
      <Section title={t("panel.vision")} action={<input type="checkbox" aria-label={t("panel.vision")} checked={Boolean((d.vision as { enabled?: boolean } | undefined)?.enabled)} onChange={(e) => update({ vision: { ...(d.vision as object), enabled: e.target.checked } })} />}>
        {null}
      </Section>
    </>
  );
}

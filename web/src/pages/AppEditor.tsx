import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, consoleFetch } from "../api/client";
import type { FormItem, FormKind, FormSpec, ModelConfig, ParameterRule, ProviderWithModels } from "../api/models";
import { ChatPanel } from "../components/ChatPanel";
import { toFormError, type FormError } from "../components/errors";
import { FormAlert } from "../components/Field";
import { formEntry, InputsForm, missingInputs } from "../components/InputsForm";
import { Markdown } from "../components/Markdown";
import { ParameterForm } from "../components/ParameterForm";
import { PromptEditor } from "../components/PromptEditor";
import { ErrorBox, Switch } from "../components/ui";
import { keepKnown, localized, requiredDefaults } from "../lib/params";
import { promptVariables, VARIABLE_NAME } from "../lib/prompt";
import { readEvents } from "../lib/sse";
import { useApp } from "./AppShell";
import { ContextPanel } from "./editor/ContextPanel";
import { ToolsPanel } from "./editor/ToolsPanel";

const FORM_KINDS: FormKind[] = ["text-input", "paragraph", "select", "number", "checkbox"];

function defaults(mode: string): ModelConfig {
  return {
    opening_statement: null,
    suggested_questions: [],
    suggested_questions_after_answer: { enabled: false },
    speech_to_text: { enabled: false },
    text_to_speech: { enabled: false },
    retriever_resource: { enabled: true },
    annotation_reply: { enabled: false },
    more_like_this: { enabled: false },
    sensitive_word_avoidance: { enabled: false, type: "", config: {} },
    model: { provider: "", name: "", mode: mode === "completion" ? "completion" : "chat", completion_params: {} },
    user_input_form: [],
    dataset_query_variable: "",
    pre_prompt: "",
    agent_mode: { enabled: mode === "agent-chat", strategy: mode === "agent-chat" ? "function_call" : null, tools: [] },
    prompt_type: "simple",
    file_upload: { image: { enabled: false, number_limits: 3, detail: "high", transfer_methods: ["remote_url", "local_file"] } },
  };
}

/** The configure tab: chat, text generator and agent apps get the editor; flows get a pointer. */
export function AppEditor() {
  const { t } = useTranslation();
  const { app } = useApp();
  if (app.mode === "workflow" || app.mode === "advanced-chat") {
    return <div className="info">{t("editor.flowApp")}</div>;
  }
  return <PromptAppEditor />;
}

function PromptAppEditor() {
  const { t, i18n } = useTranslation();
  const { app, reload } = useApp();
  const [config, setConfig] = useState<ModelConfig>(() => ({ ...defaults(app.mode), ...(app.model_config ?? {}) }));
  const [dirty, setDirty] = useState(false);
  const [saveError, setSaveError] = useState<FormError | null>(null);
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const [saving, setSaving] = useState(false);

  const change = (patch: Partial<ModelConfig>) => {
    setConfig((c) => ({ ...c, ...patch }));
    setDirty(true);
  };

  const variables = useMemo(
    () => config.user_input_form.map(formEntry).filter((e): e is [string, FormSpec] => e !== null).map(([, s]) => s.variable),
    [config.user_input_form],
  );
  const unknown = promptVariables(config.pre_prompt).filter((v) => !variables.includes(v));

  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      await api<unknown>("post", "/console/api/apps/{app_id}/model-config", { path: { app_id: app.id }, body: config });
      setDirty(false);
      setSavedAt(new Date());
      await reload();
    } catch (e) {
      setSaveError(toFormError(e, t));
    } finally {
      setSaving(false);
    }
  };

  const addVariables = (names: string[]) =>
    change({
      user_input_form: [
        ...config.user_input_form,
        ...names.map((name) => ({ "text-input": { label: name, variable: name, required: true, max_length: 48, default: "" } })),
      ],
    });

  return (
    <div className="editor">
      <div className="editor-col">
        <div className="row-between">
          <span className="save-state" data-testid="save-state">
            {dirty ? t("editor.unsaved") : savedAt ? t("editor.savedAt", { time: savedAt.toLocaleTimeString(i18n.language) }) : t("editor.upToDate")}
          </span>
          <button type="button" className="btn btn-primary" data-testid="publish" disabled={saving} onClick={() => void save()}>
            {t("editor.publish")}
          </button>
        </div>
        <FormAlert error={saveError} />
        <section className="panel stack">
          <div className="panel-head" style={{ marginBottom: 0 }}>
            <h2>{t("editor.prompt")}</h2>
            <span className="muted small">{t("editor.promptHint")}</span>
          </div>
          <PromptEditor
            id="pre-prompt"
            value={config.pre_prompt}
            known={variables}
            placeholder={t("editor.promptPlaceholder")}
            onChange={(v) => change({ pre_prompt: v })}
          />
          {unknown.length > 0 ? (
            <div className="notice row-between">
              <span>{t("editor.unknownVariables", { names: unknown.join(", ") })}</span>
              <button type="button" className="btn btn-small" onClick={() => addVariables(unknown)}>
                {t("editor.addVariables")}
              </button>
            </div>
          ) : null}
        </section>
        <VariablesPanel form={config.user_input_form} onChange={(form) => change({ user_input_form: form })} />
        <ModelPanel model={config.model} onChange={(model) => change({ model })} />
        <ContextPanel config={config} mode={app.mode} variables={variables} onChange={change} />
        {app.mode === "agent-chat" ? <ToolsPanel config={config} onChange={change} /> : null}
        <FeaturesPanel config={config} mode={app.mode} onChange={change} />
      </div>
      <div className="editor-col">
        {app.mode === "completion" ? <CompletionPreview config={config} /> : <ChatPreview config={config} />}
      </div>
    </div>
  );
}

function VariablesPanel({ form, onChange }: { form: FormItem[]; onChange: (form: FormItem[]) => void }) {
  const { t } = useTranslation();
  const rows = form.map(formEntry);
  const update = (index: number, kind: string, spec: FormSpec) => onChange(form.map((item, i) => (i === index ? { [kind]: spec } : item)));
  const add = () => {
    let n = form.length + 1;
    while (rows.some((r) => r?.[1].variable === `var_${n}`)) n += 1;
    onChange([...form, { "text-input": { label: `var_${n}`, variable: `var_${n}`, required: true, max_length: 48, default: "" } }]);
  };
  return (
    <section className="panel" data-testid="variables-panel">
      <div className="panel-head">
        <h2>{t("editor.variables")}</h2>
        <button type="button" className="btn btn-small" data-testid="add-variable" onClick={add}>
          + {t("editor.addVariable")}
        </button>
      </div>
      {form.length === 0 ? <p className="muted small">{t("editor.noVariables")}</p> : null}
      <div className="stack">
        {rows.map((entry, index) => {
          if (!entry) return null;
          const [kind, spec] = entry;
          const bad = !VARIABLE_NAME.test(spec.variable);
          return (
            <div key={index} className="stack" style={{ gap: 4 }}>
              <div className="var-row">
                <input
                  type="text"
                  aria-label={t("editor.variableName")}
                  value={spec.variable}
                  aria-invalid={bad || undefined}
                  onChange={(e) => update(index, kind, { ...spec, variable: e.target.value })}
                />
                <input
                  type="text"
                  aria-label={t("editor.variableLabel")}
                  placeholder={t("editor.variableLabel")}
                  value={spec.label}
                  onChange={(e) => update(index, kind, { ...spec, label: e.target.value })}
                />
                <select aria-label={t("editor.variableType")} value={kind} onChange={(e) => update(index, e.target.value, spec)}>
                  {FORM_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {t(`formKinds.${k}`)}
                    </option>
                  ))}
                </select>
                <label className="row small">
                  <input type="checkbox" checked={spec.required} onChange={(e) => update(index, kind, { ...spec, required: e.target.checked })} />
                  {t("editor.required")}
                </label>
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("common.delete")} onClick={() => onChange(form.filter((_, i) => i !== index))}>
                  ✕
                </button>
              </div>
              {kind === "select" ? (
                <input
                  type="text"
                  aria-label={t("editor.options")}
                  placeholder={t("editor.optionsHint")}
                  value={(spec.options ?? []).join(", ")}
                  onChange={(e) => update(index, kind, { ...spec, options: e.target.value.split(",").map((o) => o.trim()) })}
                />
              ) : null}
              {bad ? <p className="field-error">{t("editor.badVariable")}</p> : null}
            </div>
          );
        })}
      </div>
    </section>
  );
}

function ModelPanel({ model, onChange }: { model: ModelConfig["model"]; onChange: (model: ModelConfig["model"]) => void }) {
  const { t, i18n } = useTranslation();
  const [providers, setProviders] = useState<ProviderWithModels[] | null>(null);
  const [rules, setRules] = useState<ParameterRule[]>([]);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api<{ data: ProviderWithModels[] }>("get", "/console/api/workspaces/current/models/model-types/{model_type}", { path: { model_type: "llm" } })
      .then((r) => setProviders(r.data))
      .catch((e: unknown) => {
        setProviders([]);
        setError(e);
      });
  }, []);

  const loadRules = useCallback(async (provider: string, name: string) => {
    if (!provider || !name) return setRules([]);
    try {
      const r = await api<{ data: ParameterRule[] }>("get", "/console/api/workspaces/current/model-providers/{provider}/models/parameter-rules", {
        path: { provider },
        query: { model: name },
      });
      setRules(r.data);
      return r.data;
    } catch {
      setRules([]);
      return [];
    }
  }, []);

  useEffect(() => {
    void loadRules(model.provider, model.name);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model.provider, model.name]);

  const active = (providers ?? []).filter((p) => p.status === "active");
  const picked = useRef("");
  const pick = async (value: string) => {
    picked.current = value;
    const [provider = "", name = ""] = value.split("\u0000");
    const found = providers?.find((p) => p.provider === provider)?.models.find((m) => m.model === name);
    const mode = typeof found?.model_properties.mode === "string" ? found.model_properties.mode : "chat";
    // The choice counts at once (publishing right away keeps it); its parameters follow with the model's rules.
    onChange({ provider, name, mode, completion_params: {} });
    const next = (await loadRules(provider, name)) ?? [];
    if (picked.current !== value) return;
    onChange({ provider, name, mode, completion_params: { ...requiredDefaults(next), ...keepKnown(model.completion_params, next) } });
  };
  const current = model.provider && model.name ? `${model.provider}\u0000${model.name}` : "";

  return (
    <section className="panel stack" data-testid="model-panel">
      <div className="panel-head" style={{ marginBottom: 0 }}>
        <h2>{t("editor.model")}</h2>
      </div>
      <ErrorBox error={error} />
      {providers !== null && active.length === 0 ? (
        <div className="notice" data-testid="no-provider">
          {t("editor.noProvider")} <a href="/settings/providers">{t("editor.configureProviders")}</a>
        </div>
      ) : null}
      <select aria-label={t("editor.model")} data-testid="model-select" value={current} onChange={(e) => void pick(e.target.value)}>
        <option value="">{t("editor.pickModel")}</option>
        {current && !active.some((p) => p.provider === model.provider) ? <option value={current}>{`${model.provider} / ${model.name}`}</option> : null}
        {active.map((p) => (
          <optgroup key={p.provider} label={localized(p.label, i18n.language) || p.provider}>
            {p.models.map((m) => (
              <option key={m.model} value={`${p.provider}\u0000${m.model}`}>
                {localized(m.label, i18n.language) || m.model}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
      {model.name ? (
        <ParameterForm rules={rules} value={model.completion_params} onChange={(completion_params) => onChange({ ...model, completion_params })} />
      ) : null}
    </section>
  );
}

function FeaturesPanel({ config, mode, onChange }: { config: ModelConfig; mode: string; onChange: (patch: Partial<ModelConfig>) => void }) {
  const { t } = useTranslation();
  const chat = mode !== "completion";
  const moderation = config.sensitive_word_avoidance;
  const image = config.file_upload.image ?? { enabled: false, number_limits: 3, detail: "high", transfer_methods: ["remote_url", "local_file"] };
  const toggle = (key: "suggested_questions_after_answer" | "retriever_resource" | "speech_to_text" | "text_to_speech" | "more_like_this") => (
    <Switch
      checked={Boolean(config[key]?.enabled)}
      label={t(`features.${key}`)}
      testId={`feature-${key}`}
      onChange={(enabled) => onChange({ [key]: { ...config[key], enabled } })}
    />
  );
  return (
    <section className="panel" data-testid="features-panel">
      <div className="panel-head">
        <h2>{t("features.title")}</h2>
      </div>
      {chat ? (
        <div className="feature">
          <div className="feature-head">
            <strong>{t("features.opening")}</strong>
          </div>
          <textarea
            aria-label={t("features.opening")}
            data-testid="opening-input"
            placeholder={t("features.openingPlaceholder")}
            value={config.opening_statement ?? ""}
            onChange={(e) => onChange({ opening_statement: e.target.value })}
          />
          <span className="muted small">{t("features.suggested")}</span>
          {config.suggested_questions.map((q, i) => (
            <div key={i} className="row">
              <input
                type="text"
                aria-label={t("features.suggested")}
                value={q}
                onChange={(e) => onChange({ suggested_questions: config.suggested_questions.map((x, j) => (j === i ? e.target.value : x)) })}
              />
              <button
                type="button"
                className="btn btn-ghost btn-small"
                aria-label={t("common.delete")}
                onClick={() => onChange({ suggested_questions: config.suggested_questions.filter((_, j) => j !== i) })}
              >
                ✕
              </button>
            </div>
          ))}
          <div>
            <button type="button" className="btn btn-small" onClick={() => onChange({ suggested_questions: [...config.suggested_questions, ""] })}>
              + {t("features.addQuestion")}
            </button>
          </div>
        </div>
      ) : null}
      {(chat
        ? (["suggested_questions_after_answer", "retriever_resource", "speech_to_text", "text_to_speech"] as const)
        : (["more_like_this", "retriever_resource", "text_to_speech"] as const)
      ).map((key) => (
        <div className="feature" key={key}>
          <div className="feature-head">
            <div>
              <strong>{t(`features.${key}`)}</strong>
              <div className="muted small">{t(`features.${key}Hint`)}</div>
            </div>
            {toggle(key)}
          </div>
        </div>
      ))}
      <div className="feature">
        <div className="feature-head">
          <div>
            <strong>{t("features.moderation")}</strong>
            <div className="muted small">{t("features.moderationHint")}</div>
          </div>
          <Switch
            checked={moderation.enabled}
            label={t("features.moderation")}
            onChange={(enabled) =>
              onChange({
                sensitive_word_avoidance: {
                  ...moderation,
                  enabled,
                  type: "keywords",
                  config: {
                    keywords: moderation.config?.keywords ?? "",
                    inputs_config: moderation.config?.inputs_config ?? { enabled: true, preset_response: "" },
                    outputs_config: moderation.config?.outputs_config ?? { enabled: true, preset_response: "" },
                  },
                },
              })
            }
          />
        </div>
        {moderation.enabled ? (
          <>
            <textarea
              aria-label={t("features.keywords")}
              placeholder={t("features.keywordsHint")}
              value={moderation.config?.keywords ?? ""}
              onChange={(e) => onChange({ sensitive_word_avoidance: { ...moderation, config: { ...moderation.config, keywords: e.target.value } } })}
            />
            {(["inputs_config", "outputs_config"] as const).map((key) => {
              const part = moderation.config?.[key] ?? { enabled: true, preset_response: "" };
              const put = (patch: Partial<typeof part>) =>
                onChange({ sensitive_word_avoidance: { ...moderation, config: { ...moderation.config, [key]: { ...part, ...patch } } } });
              return (
                <div key={key} className="row" data-testid={`moderation-${key}`}>
                  <label className="row small" style={{ width: 140 }}>
                    <input type="checkbox" checked={part.enabled} onChange={(e) => put({ enabled: e.target.checked })} />
                    {t(key === "inputs_config" ? "moderation.inputs" : "moderation.outputs")}
                  </label>
                  <input
                    type="text"
                    className="grow"
                    aria-label={`${t(key === "inputs_config" ? "moderation.inputs" : "moderation.outputs")}: ${t("features.presetResponse")}`}
                    placeholder={t("features.presetResponse")}
                    disabled={!part.enabled}
                    value={part.preset_response ?? ""}
                    onChange={(e) => put({ preset_response: e.target.value })}
                  />
                </div>
              );
            })}
          </>
        ) : null}
      </div>
      <div className="feature">
        <div className="feature-head">
          <div>
            <strong>{t("features.fileUpload")}</strong>
            <div className="muted small">{t("features.fileUploadHint")}</div>
          </div>
          <Switch
            checked={image.enabled}
            label={t("features.fileUpload")}
            onChange={(enabled) => onChange({ file_upload: { ...config.file_upload, image: { ...image, enabled } } })}
          />
        </div>
        {image.enabled ? (
          <label className="row small">
            {t("features.maxImages")}
            <input
              type="number"
              min={1}
              max={10}
              style={{ width: 80 }}
              value={image.number_limits}
              onChange={(e) => onChange({ file_upload: { ...config.file_upload, image: { ...image, number_limits: Number(e.target.value) } } })}
            />
          </label>
        ) : null}
      </div>
    </section>
  );
}

function ChatPreview({ config }: { config: ModelConfig }) {
  const { t } = useTranslation();
  const { app } = useApp();
  const [conversation, setConversation] = useState<string | null>(null);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [round, setRound] = useState(0);
  return (
    <section className="card preview" data-testid="debug-preview">
      <div className="preview-head">
        <h2>{t("editor.debug")}</h2>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            setConversation(null);
            setRound((r) => r + 1);
          }}
        >
          {t("editor.restart")}
        </button>
      </div>
      {config.user_input_form.length > 0 ? (
        <div className="inputs-box">
          <InputsForm form={config.user_input_form} values={inputs} onChange={setInputs} />
        </div>
      ) : null}
      <ChatPanel
        key={round}
        conversationId={conversation}
        onConversation={setConversation}
        openingStatement={config.opening_statement}
        suggestedQuestions={config.suggested_questions}
        showCitations={config.retriever_resource.enabled}
        check={() => {
          const missing = missingInputs(config.user_input_form, inputs);
          return missing.length ? t("chat.missingInputs", { names: missing.join(", ") }) : null;
        }}
        send={(query, conversationId, signal) =>
          consoleFetch(
            "post",
            `/console/api/apps/${app.id}/chat-messages`,
            { inputs, query, model_config: config, conversation_id: conversationId, response_mode: "streaming" },
            { signal },
          )
        }
        onStop={(taskId) => void consoleFetch("post", `/console/api/apps/${app.id}/chat-messages/${taskId}/stop`, {}).catch(() => undefined)}
      />
    </section>
  );
}

function CompletionPreview({ config }: { config: ModelConfig }) {
  const { t } = useTranslation();
  const { app } = useApp();
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [output, setOutput] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const run = async () => {
    const missing = missingInputs(config.user_input_form, inputs);
    setNotice(missing.length ? t("chat.missingInputs", { names: missing.join(", ") }) : null);
    if (missing.length) return;
    setBusy(true);
    setOutput("");
    setError(null);
    try {
      const response = await consoleFetch("post", `/console/api/apps/${app.id}/completion-messages`, {
        inputs,
        model_config: config,
        response_mode: "streaming",
      });
      await readEvents(response, (event) => {
        if (event.event === "message") setOutput((o) => o + String(event.answer ?? ""));
        else if (event.event === "message_replace") setOutput(String(event.answer ?? ""));
        else if (event.event === "error") setError(new Error(String(event.message)));
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel stack" data-testid="debug-preview">
      <h2>{t("editor.debug")}</h2>
      <InputsForm form={config.user_input_form} values={inputs} onChange={setInputs} />
      {notice ? <div className="notice">{notice}</div> : null}
      <div>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run()}>
          {t("generator.run")}
        </button>
      </div>
      <ErrorBox error={error} />
      <div className="gen-output bubble" style={{ background: "#f9fafb", maxWidth: "100%" }}>
        {output ? <Markdown text={output} /> : <span className="muted">{t("generator.empty")}</span>}
      </div>
    </section>
  );
}

/**
 * The chatflow's features, kept in the draft's `features` with Dify's keys: opening statement and
 * suggested questions, follow-up suggestions, citations, file upload, speech to text and text to speech.
 */
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";

export type Features = Record<string, unknown>;

interface Toggle {
  enabled?: boolean;
  [key: string]: unknown;
}

const FILE_TYPES = ["image", "document", "audio", "video"];
const METHODS = ["local_file", "remote_url"];

function Switch({ label, checked, onChange, testId, children }: { label: string; checked: boolean; onChange: (v: boolean) => void; testId: string; children?: ReactNode }) {
  return (
    <section className="wf-section">
      <label className="wf-check row-between">
        <strong>{label}</strong>
        <input type="checkbox" checked={checked} data-testid={testId} onChange={(e) => onChange(e.target.checked)} />
      </label>
      {checked ? children : null}
    </section>
  );
}

export function FeaturesPanel({ features, onChange }: { features: Features; onChange: (next: Features) => void }) {
  const { t } = useTranslation("canvas");
  const get = (key: string): Toggle => (features[key] && typeof features[key] === "object" ? (features[key] as Toggle) : {});
  const set = (key: string, value: unknown) => onChange({ ...features, [key]: value });
  const questions = Array.isArray(features.suggested_questions) ? (features.suggested_questions as string[]) : [];
  const upload = get("file_upload");
  const types = Array.isArray(upload.allowed_file_types) ? (upload.allowed_file_types as string[]) : ["image"];
  const methods = Array.isArray(upload.allowed_file_upload_methods) ? (upload.allowed_file_upload_methods as string[]) : METHODS;
  const limit = Number(upload.number_limits ?? 3);
  // Dify keeps the older `image` block beside the general one; both are written so either reader works.
  const setUpload = (patch: Toggle) => {
    const next = { allowed_file_types: types, allowed_file_upload_methods: methods, number_limits: limit, allowed_file_extensions: [], ...upload, ...patch };
    const on = Boolean(next.enabled);
    const nextTypes = next.allowed_file_types as string[];
    set("file_upload", { ...next, image: { enabled: on && nextTypes.includes("image"), number_limits: next.number_limits, transfer_methods: next.allowed_file_upload_methods } });
  };
  const tts = get("text_to_speech");
  return (
    <div className="stack" data-testid="features-panel">
      <section className="wf-section">
        <h4>{t("features.opening")}</h4>
        <textarea rows={3} value={String(features.opening_statement ?? "")} placeholder={t("features.openingHint")} data-testid="feature-opening" onChange={(e) => set("opening_statement", e.target.value)} />
        <h5>{t("features.suggested")}</h5>
        {questions.map((q, i) => (
          <div className="wf-row" key={i}>
            <input type="text" value={q} aria-label={t("features.suggested")} data-testid="feature-question" onChange={(e) => set("suggested_questions", questions.map((x, j) => (j === i ? e.target.value : x)))} />
            <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => set("suggested_questions", questions.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-small" data-testid="feature-add-question" onClick={() => set("suggested_questions", [...questions, ""])}>
          + {t("features.addQuestion")}
        </button>
      </section>
      <Switch label={t("features.followUps")} testId="feature-follow-ups" checked={Boolean(get("suggested_questions_after_answer").enabled)} onChange={(v) => set("suggested_questions_after_answer", { ...get("suggested_questions_after_answer"), enabled: v })}>
        <p className="muted small">{t("features.followUpsHint")}</p>
      </Switch>
      <Switch label={t("features.citations")} testId="feature-citations" checked={Boolean(get("retriever_resource").enabled)} onChange={(v) => set("retriever_resource", { ...get("retriever_resource"), enabled: v })}>
        <p className="muted small">{t("features.citationsHint")}</p>
      </Switch>
      <Switch label={t("features.fileUpload")} testId="feature-file-upload" checked={Boolean(upload.enabled)} onChange={(v) => setUpload({ enabled: v })}>
        <div className="stack-tight">
          <div className="row wrap">
            {FILE_TYPES.map((ft) => (
              <label className="wf-check" key={ft}>
                <input type="checkbox" checked={types.includes(ft)} data-testid={`feature-file-type-${ft}`} onChange={(e) => setUpload({ allowed_file_types: e.target.checked ? [...types, ft] : types.filter((x) => x !== ft) })} /> {t(`features.types.${ft}`)}
              </label>
            ))}
          </div>
          <div className="row wrap">
            {METHODS.map((m) => (
              <label className="wf-check" key={m}>
                <input type="checkbox" checked={methods.includes(m)} onChange={(e) => setUpload({ allowed_file_upload_methods: e.target.checked ? [...methods, m] : methods.filter((x) => x !== m) })} /> {t(`features.methods.${m}`)}
              </label>
            ))}
          </div>
          <label className="small">
            {t("features.maxFiles")} <input type="number" min={1} max={10} value={limit} data-testid="feature-file-limit" onChange={(e) => setUpload({ number_limits: Number(e.target.value) })} />
          </label>
        </div>
      </Switch>
      <Switch label={t("features.speechToText")} testId="feature-stt" checked={Boolean(get("speech_to_text").enabled)} onChange={(v) => set("speech_to_text", { ...get("speech_to_text"), enabled: v })} />
      <Switch label={t("features.textToSpeech")} testId="feature-tts" checked={Boolean(tts.enabled)} onChange={(v) => set("text_to_speech", { language: "", voice: "", ...tts, enabled: v })}>
        <div className="wf-row">
          <input type="text" value={String(tts.voice ?? "")} placeholder={t("features.voice")} aria-label={t("features.voice")} onChange={(e) => set("text_to_speech", { ...tts, voice: e.target.value })} />
          <input type="text" value={String(tts.language ?? "")} placeholder={t("features.language")} aria-label={t("features.language")} onChange={(e) => set("text_to_speech", { ...tts, language: e.target.value })} />
        </div>
        <label className="wf-check">
          <input type="checkbox" checked={tts.autoPlay === "enabled"} onChange={(e) => set("text_to_speech", { ...tts, autoPlay: e.target.checked ? "enabled" : "disabled" })} /> {t("features.autoPlay")}
        </label>
      </Switch>
    </div>
  );
}

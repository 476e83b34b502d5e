import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api, uploadFile } from "../../api/client";
import type { ChunkPreview, ProcessRule } from "../../api/models";
import { ErrorBox, Loading } from "../../components/ui";

export interface ChunkForm {
  mode: ProcessRule["mode"];
  separator: string;
  maxTokens: number;
  overlap: number;
  removeSpaces: boolean;
  removeUrls: boolean;
  parentMode: "paragraph" | "full-doc";
  childSeparator: string;
  childTokens: number;
}

export const DEFAULT_CHUNKS: ChunkForm = {
  mode: "automatic",
  separator: "\\n\\n",
  maxTokens: 500,
  overlap: 50,
  removeSpaces: true,
  removeUrls: false,
  parentMode: "paragraph",
  childSeparator: "\\n",
  childTokens: 200,
};

/** The Dify `process_rule` for the form (separators stay escaped, as the API expects them). */
export function processRule(form: ChunkForm): ProcessRule {
  if (form.mode === "automatic") return { mode: "automatic" };
  const maxTokens = Math.min(4000, Math.max(50, Math.round(form.maxTokens)));
  const rules: NonNullable<ProcessRule["rules"]> = {
    pre_processing_rules: [
      { id: "remove_extra_spaces", enabled: form.removeSpaces },
      { id: "remove_urls_emails", enabled: form.removeUrls },
    ],
    segmentation: { separator: form.separator || "\\n\\n", max_tokens: maxTokens, chunk_overlap: Math.min(Math.max(0, Math.round(form.overlap)), maxTokens - 1) },
  };
  if (form.mode === "hierarchical") {
    rules.parent_mode = form.parentMode;
    rules.subchunk_segmentation = { separator: form.childSeparator || "\\n", max_tokens: Math.max(1, Math.round(form.childTokens)), chunk_overlap: 0 };
  }
  return { mode: form.mode, rules };
}

/** Chunk settings for the next uploads, with a live preview of one file split on the server. */
export function ChunkSettings({ value, onChange, onAddPreviewed }: { value: ChunkForm; onChange: (v: ChunkForm) => void; onAddPreviewed: (fileId: string) => void }) {
  const { t } = useTranslation();
  const [file, setFile] = useState<{ id: string; name: string } | null>(null);
  const [preview, setPreview] = useState<ChunkPreview | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const set = (patch: Partial<ChunkForm>) => onChange({ ...value, ...patch });

  const runPreview = async (fileId: string, form: ChunkForm) => {
    setBusy(true);
    setError(null);
    try {
      setPreview(await api<ChunkPreview>("post", "/console/api/datasets/chunk-preview", { body: { file_id: fileId, process_rule: processRule(form) } }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const pick = async (picked: File) => {
    setError(null);
    try {
      const saved = await uploadFile<{ id: string; name: string }>("/console/api/files/upload?source=datasets", picked, () => undefined);
      setFile(saved);
      await runPreview(saved.id, value);
    } catch (e) {
      setError(e);
    }
  };
  const number = (key: "maxTokens" | "overlap" | "childTokens", label: string) => (
    <label className="field">
      <span>{label}</span>
      <input type="number" data-testid={`chunk-${key}`} value={value[key]} onChange={(e) => set({ [key]: Number(e.target.value) })} />
    </label>
  );
  return (
    <section className="panel stack" data-testid="chunk-settings">
      <div className="row-between">
        <h2>{t("chunks.title")}</h2>
        <span className="muted small">{t("chunks.apply")}</span>
      </div>
      <div className="method-grid" role="radiogroup" aria-label={t("chunks.mode")}>
        {(["automatic", "custom", "hierarchical"] as const).map((mode) => (
          <label key={mode} className={value.mode === mode ? "method on" : "method"}>
            <input type="radio" name="chunk-mode" value={mode} data-testid={`chunk-mode-${mode}`} checked={value.mode === mode} onChange={() => set({ mode })} />
            {t(`chunks.${mode}`)}
          </label>
        ))}
      </div>
      {value.mode !== "automatic" ? (
        <>
          <div className="grid-3">
            <label className="field">
              <span>{t("chunks.separator")}</span>
              <input type="text" data-testid="chunk-separator" value={value.separator} onChange={(e) => set({ separator: e.target.value })} />
            </label>
            {number("maxTokens", t("chunks.maxTokens"))}
            {number("overlap", t("chunks.overlap"))}
          </div>
          {value.mode === "hierarchical" ? (
            <div className="grid-3">
              <label className="field">
                <span>{t("chunks.parentMode")}</span>
                <select value={value.parentMode} onChange={(e) => set({ parentMode: e.target.value as ChunkForm["parentMode"] })}>
                  <option value="paragraph">{t("chunks.paragraph")}</option>
                  <option value="full-doc">{t("chunks.fullDoc")}</option>
                </select>
              </label>
              <label className="field">
                <span>{t("chunks.childSeparator")}</span>
                <input type="text" value={value.childSeparator} onChange={(e) => set({ childSeparator: e.target.value })} />
              </label>
              {number("childTokens", t("chunks.childTokens"))}
            </div>
          ) : null}
          <label className="row small">
            <input type="checkbox" checked={value.removeSpaces} onChange={(e) => set({ removeSpaces: e.target.checked })} />
            {t("chunks.removeSpaces")}
          </label>
          <label className="row small">
            <input type="checkbox" checked={value.removeUrls} onChange={(e) => set({ removeUrls: e.target.checked })} />
            {t("chunks.removeUrls")}
          </label>
        </>
      ) : null}
      <div className="row wrap">
        <label className="btn">
          {t("chunks.previewPick")}
          <input type="file" hidden data-testid="preview-input" accept=".txt,.md,.markdown,.pdf,.html,.htm,.docx,.csv,.xlsx,.pptx,.epub,.json" onChange={(e) => {
            const picked = e.target.files?.[0];
            if (picked) void pick(picked);
            e.target.value = "";
          }} />
        </label>
        {file ? (
          <>
            <button type="button" className="btn" data-testid="preview-run" disabled={busy} onClick={() => void runPreview(file.id, value)}>
              {t("chunks.preview")}
            </button>
            <button type="button" className="btn btn-primary" data-testid="preview-add" onClick={() => onAddPreviewed(file.id)}>
              {t("chunks.addPreviewed")}
            </button>
            <span className="muted small">{file.name}</span>
          </>
        ) : (
          <span className="muted small">{t("chunks.previewHint")}</span>
        )}
      </div>
      <ErrorBox error={error} />
      {busy ? <Loading /> : null}
      {preview && !busy ? (
        <div className="stack" data-testid="chunk-preview">
          <span className="muted small" data-testid="chunk-preview-count">
            {t("chunks.previewCount", { count: preview.total_segments, shown: preview.preview.length })}
          </span>
          {preview.preview.map((c, i) => (
            <div key={i} className="segment small" data-testid="preview-chunk">
              <span className="muted">#{i + 1}</span>
              <div>{c.content}</div>
              {c.child_chunks.length ? (
                <div className="row wrap">
                  {c.child_chunks.map((child, j) => (
                    <span key={j} className="badge" title={child}>
                      {child.slice(0, 40)}
                    </span>
                  ))}
                </div>
              ) : null}
            </div>
          ))}
        </div>
      ) : null}
    </section>
  );
}

import { useCallback, useEffect, useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { api, uploadFile } from "../api/client";
import type { Dataset, DatasetDetail, DatasetDocument, Segment } from "../api/models";
import { toFormError, type FormError } from "../components/errors";
import { Field, FormAlert } from "../components/Field";
import { ErrorBox, formatTime, Loading, Modal, Switch } from "../components/ui";
import { ChunkSettings, DEFAULT_CHUNKS, processRule, type ChunkForm } from "./knowledge/ChunkSettings";
import { DatasetSettings } from "./knowledge/DatasetSettings";
import { DocumentMetadata } from "./knowledge/DocumentMetadata";
import { HitTesting } from "./knowledge/HitTesting";

/** The workspace's default embedding model, used when a knowledge base has none of its own yet. */
async function defaultEmbedding(): Promise<{ embedding_model: string; embedding_model_provider: string } | null> {
  try {
    const r = await api<{ data: { model: string; provider: { provider: string } } | null }>("get", "/console/api/workspaces/current/default-model", {
      query: { model_type: "text-embedding" },
    });
    return r.data ? { embedding_model: r.data.model, embedding_model_provider: r.data.provider.provider } : null;
  } catch {
    return null;
  }
}

export function DatasetsPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [list, setList] = useState<Dataset[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [createError, setCreateError] = useState<FormError | null>(null);
  useEffect(() => {
    api<{ data: Dataset[] }>("get", "/console/api/datasets", { query: { page: 1, limit: 100 } })
      .then((r) => setList(r.data))
      .catch(setError);
  }, []);
  const create = async () => {
    setCreateError(null);
    try {
      const ds = await api<Dataset>("post", "/console/api/datasets", { body: { name, description } });
      navigate(`/datasets/${ds.id}`);
    } catch (e) {
      setCreateError(toFormError(e, t, ["name", "description"]));
    }
  };
  return (
    <div>
      <div className="page-head">
        <div>
          <h1>{t("knowledge.title")}</h1>
          <p className="muted">{t("knowledge.subtitle")}</p>
        </div>
        <button type="button" className="btn btn-primary" data-testid="create-dataset" onClick={() => setCreating(true)}>
          + {t("knowledge.create")}
        </button>
      </div>
      <ErrorBox error={error} />
      {list === null ? (
        error ? null : <Loading />
      ) : list.length === 0 ? (
        <div className="card empty">{t("knowledge.empty")}</div>
      ) : (
        <div className="grid-cards">
          {list.map((ds) => (
            <Link key={ds.id} to={`/datasets/${ds.id}`} className="card app-card" style={{ color: "inherit", textDecoration: "none" }}>
              <div className="app-card-title">
                <span className="app-icon" style={{ background: "#fef0c7" }}>
                  📚
                </span>
                <span className="grow">{ds.name}</span>
              </div>
              <div className="app-card-desc">{ds.description || t("app.noDescription")}</div>
              <div className="app-card-foot">
                <span className="muted small">{t("knowledge.stats", { docs: ds.document_count, words: ds.word_count })}</span>
                <span className="muted small">{formatTime(ds.created_at, i18n.language)}</span>
              </div>
            </Link>
          ))}
        </div>
      )}
      {creating ? (
        <Modal
          title={t("knowledge.create")}
          onClose={() => setCreating(false)}
          footer={
            <>
              <button type="button" className="btn" onClick={() => setCreating(false)}>
                {t("common.cancel")}
              </button>
              <button type="button" className="btn btn-primary" disabled={!name.trim()} onClick={() => void create()}>
                {t("createApp.submit")}
              </button>
            </>
          }
        >
          <Field id="ds-name" label={t("knowledge.name")} error={createError?.field === "name" ? createError.message : null}>
            <input id="ds-name" type="text" value={name} autoFocus onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field id="ds-desc" label={t("createApp.description")}>
            <textarea id="ds-desc" value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <FormAlert error={createError} />
        </Modal>
      ) : null}
    </div>
  );
}

interface UploadState {
  name: string;
  progress: number;
  error?: string;
  done?: boolean;
}

const STATUS_BADGE: Record<string, string> = {
  available: "badge badge-green",
  completed: "badge badge-green",
  indexing: "badge badge-blue",
  queuing: "badge badge-amber",
  waiting: "badge badge-amber",
  parsing: "badge badge-blue",
  splitting: "badge badge-blue",
  error: "badge badge-red",
  paused: "badge",
  disabled: "badge",
};

export function DatasetPage() {
  const { t, i18n } = useTranslation();
  const { datasetId = "" } = useParams();
  const [dataset, setDataset] = useState<DatasetDetail | null>(null);
  const [tab, setTab] = useState<"documents" | "hit" | "settings">("documents");
  const [chunks, setChunks] = useState<ChunkForm>(DEFAULT_CHUNKS);
  const [docs, setDocs] = useState<DatasetDocument[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const [over, setOver] = useState(false);
  const picker = useRef<HTMLInputElement>(null);

  const load = useCallback(async () => {
    try {
      const [ds, page] = await Promise.all([
        api<DatasetDetail>("get", "/console/api/datasets/{dataset_id}", { path: { dataset_id: datasetId } }),
        api<{ data: DatasetDocument[] }>("get", "/console/api/datasets/{dataset_id}/documents", { path: { dataset_id: datasetId }, query: { page: 1, limit: 100 } }),
      ]);
      setDataset(ds);
      setDocs(page.data);
    } catch (e) {
      setError(e);
    }
  }, [datasetId]);
  useEffect(() => {
    void load();
  }, [load]);

  // Poll while any document is still being indexed.
  const busy = (docs ?? []).some((d) => !["available", "completed", "error", "paused", "disabled", "archived"].includes(d.display_status ?? d.indexing_status));
  useEffect(() => {
    if (!busy) return;
    const timer = window.setInterval(() => void load(), 1500);
    return () => window.clearInterval(timer);
  }, [busy, load]);

  const upload = async (files: File[]) => {
    const start = uploads.length;
    setUploads((u) => [...u, ...files.map((f) => ({ name: f.name, progress: 0 }))]);
    const ids: string[] = [];
    await Promise.all(
      files.map(async (file, i) => {
        const at = start + i;
        const set = (patch: Partial<UploadState>) => setUploads((u) => u.map((x, j) => (j === at ? { ...x, ...patch } : x)));
        try {
          const saved = await uploadFile<{ id: string }>("/console/api/files/upload?source=datasets", file, (p) => set({ progress: p }));
          ids.push(saved.id);
          set({ progress: 1, done: true });
        } catch (e) {
          set({ error: toFormError(e, t).message });
        }
      }),
    );
    if (ids.length === 0) return;
    await addDocuments(ids);
  };

  const addDocuments = async (ids: string[]) => {
    try {
      const embedding = dataset?.embedding_model ? null : await defaultEmbedding();
      await api("post", "/console/api/datasets/{dataset_id}/documents", {
        path: { dataset_id: datasetId },
        body: {
          data_source: { type: "upload_file", info_list: { data_source_type: "upload_file", file_info_list: { file_ids: ids } } },
          indexing_technique: dataset?.indexing_technique ?? "high_quality",
          process_rule: { ...processRule(chunks) },
          ...(embedding ?? {}),
        },
      });
      await load();
    } catch (e) {
      setError(e);
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    void upload([...event.dataTransfer.files]);
  };
  const setEnabled = async (doc: DatasetDocument, enable: boolean) => {
    try {
      await api("patch", "/console/api/datasets/{dataset_id}/documents/status/{action}/batch", {
        path: { dataset_id: datasetId, action: enable ? "enable" : "disable" },
        query: { document_id: [doc.id] } as never,
      });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (doc: DatasetDocument) => {
    try {
      await api("delete", "/console/api/datasets/{dataset_id}/documents/{document_id}", { path: { dataset_id: datasetId, document_id: doc.id } });
      await load();
    } catch (e) {
      setError(e);
    }
  };

  if (!dataset) return error ? <ErrorBox error={error} /> : <Loading />;
  return (
    <div className="stack">
      <div className="app-head">
        <Link to="/datasets" className="btn btn-ghost btn-small">
          ←
        </Link>
        <span className="app-icon" style={{ background: "#fef0c7" }}>
          📚
        </span>
        <div className="grow">
          <h1>{dataset.name}</h1>
          <span className="muted small">{dataset.description}</span>
        </div>
      </div>
      <nav className="tabs" role="tablist">
        {(["documents", "hit", "settings"] as const).map((key) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} className={tab === key ? "active" : ""} data-testid={`ds-tab-${key}`} onClick={() => setTab(key)}>
            {t(key === "documents" ? "kb.documents" : key === "hit" ? "kb.hitTesting" : "kb.settings")}
          </button>
        ))}
      </nav>
      <ErrorBox error={error} />
      {tab === "hit" ? <HitTesting dataset={dataset} /> : null}
      {tab === "settings" ? <DatasetSettings dataset={dataset} onSaved={(d) => setDataset({ ...dataset, ...d })} /> : null}
      {tab === "documents" ? (
      <>
      <details className="panel-details">
        <summary data-testid="chunk-settings-toggle">{t("chunks.title")}: {t(`chunks.${chunks.mode}`)}</summary>
        <ChunkSettings value={chunks} onChange={setChunks} onAddPreviewed={(id) => void addDocuments([id])} />
      </details>
      <div
        className={over ? "dropzone over" : "dropzone"}
        data-testid="dropzone"
        onClick={() => picker.current?.click()}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <input
          ref={picker}
          type="file"
          multiple
          hidden
          data-testid="upload-input"
          accept=".txt,.md,.markdown,.pdf,.html,.htm,.docx,.csv,.xlsx,.pptx,.epub,.json"
          onChange={(e) => {
            void upload([...(e.target.files ?? [])]);
            e.target.value = "";
          }}
        />
        <strong>{t("knowledge.drop")}</strong>
        <div className="small">{t("knowledge.dropHint")}</div>
      </div>
      {uploads.length > 0 ? (
        <div className="panel stack">
          {uploads.map((u, i) => (
            <div key={i} className="stack" style={{ gap: 4 }}>
              <div className="row-between small">
                <span>{u.name}</span>
                <span className={u.error ? "field-error" : "muted"}>{u.error ?? (u.done ? t("knowledge.uploaded") : `${Math.round(u.progress * 100)}%`)}</span>
              </div>
              <div className="progress">
                <div style={{ width: `${Math.round(u.progress * 100)}%` }} />
              </div>
            </div>
          ))}
        </div>
      ) : null}
      <div className="table-wrap">
        <table className="table" data-testid="documents-table">
          <thead>
            <tr>
              <th>{t("knowledge.document")}</th>
              <th>{t("knowledge.words")}</th>
              <th>{t("knowledge.hits")}</th>
              <th>{t("knowledge.uploadedAt")}</th>
              <th>{t("knowledge.status")}</th>
              <th>{t("knowledge.enabled")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(docs ?? []).length === 0 ? (
              <tr>
                <td colSpan={7} className="empty">
                  {t("knowledge.noDocuments")}
                </td>
              </tr>
            ) : null}
            {(docs ?? []).map((doc) => {
              const status = doc.display_status ?? doc.indexing_status;
              return (
                <tr key={doc.id}>
                  <td>
                    <Link to={`/datasets/${datasetId}/documents/${doc.id}`}>{doc.name}</Link>
                  </td>
                  <td>{doc.word_count ?? "—"}</td>
                  <td>{doc.hit_count ?? 0}</td>
                  <td>{formatTime(doc.created_at, i18n.language)}</td>
                  <td>
                    <span className={STATUS_BADGE[status] ?? "badge"} title={doc.error ?? undefined} data-testid="doc-status">
                      {t(`docStatus.${status}`, { defaultValue: status })}
                    </span>
                  </td>
                  <td>
                    <Switch checked={doc.enabled} label={t("knowledge.enabled")} onChange={(v) => void setEnabled(doc, v)} />
                  </td>
                  <td style={{ textAlign: "right" }}>
                    <button type="button" className="btn btn-danger btn-small" onClick={() => void remove(doc)}>
                      {t("common.delete")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      </>
      ) : null}
    </div>
  );
}

export function DocumentPage() {
  const { t } = useTranslation();
  const { datasetId = "", documentId = "" } = useParams();
  const [doc, setDoc] = useState<DatasetDocument | null>(null);
  const [segments, setSegments] = useState<Segment[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [adding, setAdding] = useState(false);
  const [content, setContent] = useState("");
  const path = { dataset_id: datasetId, document_id: documentId };
  const load = useCallback(async () => {
    try {
      const [d, s] = await Promise.all([
        api<DatasetDocument>("get", "/console/api/datasets/{dataset_id}/documents/{document_id}", { path: { dataset_id: datasetId, document_id: documentId } }),
        api<{ data: Segment[] }>("get", "/console/api/datasets/{dataset_id}/documents/{document_id}/segments", {
          path: { dataset_id: datasetId, document_id: documentId },
          query: { page: 1, limit: 100 },
        }),
      ]);
      setDoc(d);
      setSegments(s.data);
    } catch (e) {
      setError(e);
    }
  }, [datasetId, documentId]);
  useEffect(() => {
    void load();
  }, [load]);
  const toggle = async (segment: Segment, enable: boolean) => {
    try {
      await api("patch", "/console/api/datasets/{dataset_id}/documents/{document_id}/segment/{action}", {
        path: { ...path, action: enable ? "enable" : "disable" },
        query: { segment_id: [segment.id] } as never,
      });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const add = async () => {
    try {
      await api("post", "/console/api/datasets/{dataset_id}/documents/{document_id}/segment", { path, body: { content } });
      setAdding(false);
      setContent("");
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="stack">
      <div className="app-head">
        <Link to={`/datasets/${datasetId}`} className="btn btn-ghost btn-small">
          ←
        </Link>
        <div className="grow">
          <h1>{doc?.name ?? ""}</h1>
          <span className="muted small">{t("knowledge.segments", { count: segments?.length ?? 0 })}</span>
        </div>
        <button type="button" className="btn" onClick={() => setAdding(true)}>
          + {t("knowledge.addSegment")}
        </button>
      </div>
      <ErrorBox error={error} />
      <DocumentMetadata datasetId={datasetId} documentId={documentId} />
      {segments === null ? (
        <Loading />
      ) : segments.length === 0 ? (
        <div className="card empty">{t("knowledge.noSegments")}</div>
      ) : (
        segments.map((s) => (
          <div key={s.id} className="segment">
            <div className="row-between small muted">
              <span>
                #{s.position} · {t("knowledge.segmentStats", { words: s.word_count, hits: s.hit_count })}
              </span>
              <Switch checked={s.enabled} label={t("knowledge.enabled")} onChange={(v) => void toggle(s, v)} />
            </div>
            <div>{s.content}</div>
            {s.answer ? <div className="muted">{s.answer}</div> : null}
          </div>
        ))
      )}
      {adding ? (
        <Modal
          title={t("knowledge.addSegment")}
          onClose={() => setAdding(false)}
          footer={
            <button type="button" className="btn btn-primary" disabled={!content.trim()} onClick={() => void add()}>
              {t("common.save")}
            </button>
          }
        >
          <textarea aria-label={t("knowledge.segmentContent")} rows={8} value={content} onChange={(e) => setContent(e.target.value)} />
        </Modal>
      ) : null}
    </div>
  );
}

import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, ApiError, tokens } from "../../api/client";
import type { Annotation, LogPage } from "../../api/models";
import { ErrorBox, download, formatTime, Loading, Switch } from "../../components/ui";
import { toCsv } from "../../lib/csv";
import { useApp } from "../AppShell";
import { AnnotateModal } from "./MessageTrace";

/** The annotations of an app: list, search, add/edit/delete, CSV import and export, annotation reply. */
export default function AnnotationsPage() {
  const { t, i18n } = useTranslation();
  const { app } = useApp();
  const [rows, setRows] = useState<Annotation[] | null>(null);
  const [keyword, setKeyword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Annotation | "new" | null>(null);
  const [reply, setReply] = useState<{ enabled: boolean; score_threshold?: number } | null>(null);
  const picker = useRef<HTMLInputElement>(null);
  const path = { app_id: app.id };

  const load = useCallback(async () => {
    try {
      const page = await api<LogPage<Annotation>>("get", "/console/api/apps/{app_id}/annotations", { path: { app_id: app.id }, query: { page: 1, limit: 100, keyword: keyword || null } });
      setRows(page.data);
    } catch (e) {
      setError(e);
    }
  }, [app.id, keyword]);
  useEffect(() => {
    const timer = window.setTimeout(() => void load(), 250);
    return () => window.clearTimeout(timer);
  }, [load]);
  useEffect(() => {
    api<{ enabled: boolean; score_threshold?: number }>("get", "/console/api/apps/{app_id}/annotation-setting", { path: { app_id: app.id } })
      .then(setReply)
      .catch(() => setReply({ enabled: false }));
  }, [app.id]);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const exportCsv = async () => {
    const all = await api<{ data: Annotation[] }>("get", "/console/api/apps/{app_id}/annotations/export", { path });
    download(`${app.name}-annotations.csv`, toCsv([["question", "answer"], ...all.data.map((a) => [a.question, a.answer])]), "text/csv");
  };
  const importCsv = async (file: File) => {
    setNotice(null);
    setError(null);
    const form = new FormData();
    form.append("file", file);
    const headers: Record<string, string> = {};
    const access = tokens.access();
    if (access) headers.Authorization = `Bearer ${access}`;
    const response = await fetch(`/console/api/apps/${app.id}/annotations/batch-import`, { method: "POST", body: form, headers });
    const body = (await response.json()) as { record_count?: number; code?: string; message?: string };
    if (!response.ok) return setError(new ApiError(response.status, body.code ?? "unknown", body.message ?? ""));
    setNotice(t("annotations.importDone", { count: body.record_count ?? 0 }));
    await load();
  };
  const toggleReply = async (enabled: boolean) => {
    setError(null);
    try {
      // Matching questions needs an embedding model: the workspace's default one.
      const embedding = enabled
        ? (await api<{ data: { model: string; provider: { provider: string } } | null }>("get", "/console/api/workspaces/current/default-model", { query: { model_type: "text-embedding" } })).data
        : null;
      await api("post", "/console/api/apps/{app_id}/annotation-reply/{action}", {
        path: { app_id: app.id, action: enabled ? "enable" : "disable" },
        body: {
          score_threshold: reply?.score_threshold ?? 0.9,
          ...(embedding ? { embedding_provider_name: embedding.provider.provider, embedding_model_name: embedding.model } : {}),
        },
      });
      setReply({ ...reply, enabled });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="stack" data-testid="annotations">
      <div className="row-between">
        <p className="muted">{t("annotations.hint")}</p>
        <div className="row">
          <input ref={picker} type="file" accept=".csv,text/csv" hidden data-testid="annotation-import-input" onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void importCsv(file);
            e.target.value = "";
          }} />
          <button type="button" className="btn" title={t("annotations.csvHint")} onClick={() => picker.current?.click()}>
            {t("annotations.import")}
          </button>
          <button type="button" className="btn" data-testid="annotation-export" onClick={() => void exportCsv().catch(setError)}>
            {t("annotations.export")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="annotation-add" onClick={() => setEditing("new")}>
            + {t("annotations.add")}
          </button>
        </div>
      </div>
      {reply ? (
        <div className="feature">
          <div className="feature-head">
            <div>
              <strong>{t("annotations.reply")}</strong>
              <div className="muted small">{t("annotations.replyHint")}</div>
            </div>
            <Switch checked={reply.enabled} label={t("annotations.reply")} testId="annotation-reply" onChange={(v) => void toggleReply(v)} />
          </div>
        </div>
      ) : null}
      <input type="search" aria-label={t("logs.keyword")} placeholder={t("logs.keyword")} value={keyword} onChange={(e) => setKeyword(e.target.value)} />
      {notice ? <div className="success">{notice}</div> : null}
      <ErrorBox error={error} />
      {rows === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="annotation-table">
            <thead>
              <tr>
                <th>{t("annotations.question")}</th>
                <th>{t("annotations.answer")}</th>
                <th>{t("annotations.hits")}</th>
                <th>{t("annotations.created")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={5} className="empty">
                    {t("annotations.empty")}
                  </td>
                </tr>
              ) : null}
              {rows.map((a) => (
                <tr key={a.id} data-testid="annotation-row">
                  <td className="ellipsis" title={a.question}>{a.question}</td>
                  <td className="ellipsis" title={a.answer}>{a.answer}</td>
                  <td>{a.hit_count}</td>
                  <td className="nowrap">{formatTime(a.created_at, i18n.language)}</td>
                  <td className="nowrap" style={{ textAlign: "right" }}>
                    <button type="button" className="btn btn-ghost btn-small" onClick={() => setEditing(a)}>
                      ✎
                    </button>
                    <button
                      type="button"
                      className="btn btn-danger btn-small"
                      onClick={() => void act(() => api("delete", "/console/api/apps/{app_id}/annotations/{annotation_id}", { path: { app_id: app.id, annotation_id: a.id } }))}
                    >
                      {t("common.delete")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <AnnotateModal
          question={editing === "new" ? "" : editing.question}
          answer={editing === "new" ? "" : editing.answer}
          annotationId={editing === "new" ? undefined : editing.id}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      ) : null}
    </div>
  );
}

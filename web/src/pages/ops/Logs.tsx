import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { LogConversation, LogMessage, LogPage, WorkflowRunSummary } from "../../api/models";
import { ErrorBox, formatTime, Loading } from "../../components/ui";
import { rangeBounds } from "../../lib/stats";
import { useApp } from "../AppShell";
import { OptionSelect, RangeSelect } from "./filters";
import { ConversationDrawer } from "./MessageTrace";

export interface LogFilterState {
  range: string;
  status: string;
  feedback: string;
  annotated: string;
  keyword: string;
}

/** The query the conversation-log routes take for these filters (`all` and blanks are left out). */
export function logQuery(filters: LogFilterState, page: number, now = new Date()): Record<string, string | number> {
  const query: Record<string, string | number> = { page, limit: 20, ...rangeBounds(filters.range, now) };
  if (filters.keyword.trim()) query.keyword = filters.keyword.trim();
  if (filters.status !== "all") query.status = filters.status;
  if (filters.feedback !== "all") query.feedback = filters.feedback;
  if (filters.annotated !== "all") query.annotation_status = filters.annotated;
  return query;
}

/** Logs of an app: conversations (chat apps) or messages (text generators), or runs (workflows). */
export default function LogsPage() {
  const { app } = useApp();
  return app.mode === "workflow" ? <WorkflowRuns /> : <ConversationLogs />;
}

function ConversationLogs() {
  const { t, i18n } = useTranslation();
  const { app } = useApp();
  const completion = app.mode === "completion";
  const [filters, setFilters] = useState<LogFilterState>({ range: "7", status: "all", feedback: "all", annotated: "all", keyword: "" });
  const [keyword, setKeyword] = useState("");
  const [rows, setRows] = useState<LogConversation[] | null>(null);
  const [page, setPage] = useState(1);
  const [hasMore, setHasMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<LogConversation | null>(null);

  const load = useCallback(
    async (pageNumber: number) => {
      setError(null);
      try {
        const path = completion ? "/console/api/apps/{app_id}/completion-conversations" : "/console/api/apps/{app_id}/chat-conversations";
        const result = await api<LogPage<LogConversation>>("get", path, {
          path: { app_id: app.id },
          // `status` and `feedback` are newer than the generated schema; the route reads them.
          query: logQuery(filters, pageNumber) as never,
        });
        setRows((r) => (pageNumber === 1 ? result.data : [...(r ?? []), ...result.data]));
        setHasMore(result.has_more);
        setPage(pageNumber);
      } catch (e) {
        setError(e);
        setRows((r) => r ?? []);
      }
    },
    [app.id, completion, filters],
  );
  useEffect(() => {
    void load(1);
  }, [load]);
  // The keyword applies after a short pause, not on every keystroke.
  useEffect(() => {
    const timer = window.setTimeout(() => setFilters((f) => (f.keyword === keyword ? f : { ...f, keyword })), 350);
    return () => window.clearTimeout(timer);
  }, [keyword]);

  const set = (patch: Partial<LogFilterState>) => setFilters((f) => ({ ...f, ...patch }));
  const source = (c: LogConversation) =>
    c.from_account_id ? t("logs.debugger") : c.from_source === "api" ? t("logs.apiUser") : (c.from_end_user_session_id ?? t("logs.endUser"));

  return (
    <div className="stack" data-testid="logs">
      <p className="muted">{t("logs.hint")}</p>
      <div className="row wrap filters">
        <RangeSelect value={filters.range} onChange={(range) => set({ range })} />
        <OptionSelect label={t("logs.status")} value={filters.status} options={["all", "normal", "error", "stopped"]} prefix="logs.statuses" onChange={(status) => set({ status })} testId="status-filter" />
        <OptionSelect label={t("logs.feedback")} value={filters.feedback} options={["all", "like", "dislike"]} prefix="logs.feedbacks" onChange={(feedback) => set({ feedback })} testId="feedback-filter" />
        <OptionSelect
          label={t("logs.annotated")}
          value={filters.annotated}
          options={["all", "annotated", "not_annotated"]}
          prefix="logs.annotatedStates"
          onChange={(annotated) => set({ annotated })}
          testId="annotated-filter"
        />
        <input type="search" className="grow" style={{ minWidth: 200 }} aria-label={t("logs.keyword")} placeholder={t("logs.keyword")} data-testid="log-keyword" value={keyword} onChange={(e) => setKeyword(e.target.value)} />
      </div>
      <ErrorBox error={error} />
      {rows === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="log-table">
            <thead>
              <tr>
                <th>{t("logs.time")}</th>
                <th>{t("logs.summary")}</th>
                <th>{t("logs.user")}</th>
                <th>{t("logs.messages")}</th>
                <th>{t("logs.userFeedback")}</th>
                <th>{t("logs.adminFeedback")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={6} className="empty">
                    {t("logs.empty")}
                  </td>
                </tr>
              ) : null}
              {rows.map((c) => (
                <tr key={c.id} className="clickable" data-testid="log-row" onClick={() => setOpen(c)}>
                  <td className="nowrap">{formatTime(c.created_at, i18n.language)}</td>
                  <td className="ellipsis" title={c.summary}>
                    {completion ? (
                      (c.message?.query ?? c.summary)
                    ) : (
                      <>
                        <div className="ellipsis">{c.summary || c.name}</div>
                        {c.name && c.name !== c.summary ? <div className="muted small ellipsis">{c.name}</div> : null}
                      </>
                    )}
                  </td>
                  <td className="ellipsis small">{source(c)}</td>
                  <td>{c.message_count}</td>
                  <td className="small">
                    {c.user_feedback_stats.like ? `👍 ${c.user_feedback_stats.like} ` : ""}
                    {c.user_feedback_stats.dislike ? `👎 ${c.user_feedback_stats.dislike}` : ""}
                  </td>
                  <td className="small">
                    {c.admin_feedback_stats.like ? `👍 ${c.admin_feedback_stats.like} ` : ""}
                    {c.admin_feedback_stats.dislike ? `👎 ${c.admin_feedback_stats.dislike}` : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {hasMore ? (
        <div>
          <button type="button" className="btn" onClick={() => void load(page + 1)}>
            {t("logs.more")}
          </button>
        </div>
      ) : null}
      {open ? <ConversationDrawer conversation={open} onClose={() => setOpen(null)} onChanged={() => void load(1)} /> : null}
    </div>
  );
}

function WorkflowRuns() {
  const { t, i18n } = useTranslation();
  const { app } = useApp();
  const [runs, setRuns] = useState<WorkflowRunSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<string | null>(null);
  useEffect(() => {
    api<{ data: WorkflowRunSummary[] }>("get", "/console/api/apps/{app_id}/workflow-runs", { path: { app_id: app.id }, query: { limit: 50 } })
      .then((r) => setRuns(r.data))
      .catch(setError);
  }, [app.id]);
  return (
    <div className="stack" data-testid="logs">
      <h2>{t("logs.runs")}</h2>
      <ErrorBox error={error} />
      {runs === null ? (
        error ? null : <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="log-table">
            <thead>
              <tr>
                <th>{t("logs.time")}</th>
                <th>{t("logs.runStatus")}</th>
                <th>{t("logs.elapsed")}</th>
                <th>{t("logs.tokens")}</th>
                <th>{t("logs.steps")}</th>
              </tr>
            </thead>
            <tbody>
              {runs.length === 0 ? (
                <tr>
                  <td colSpan={5} className="empty">
                    {t("logs.empty")}
                  </td>
                </tr>
              ) : null}
              {runs.map((r) => (
                <tr key={r.id} className="clickable" data-testid="log-row" onClick={() => setOpen(r.id)}>
                  <td>{formatTime(r.created_at, i18n.language)}</td>
                  <td>
                    <span className={r.status === "succeeded" ? "badge badge-green" : r.status === "failed" ? "badge badge-red" : "badge"}>{r.status}</span>
                  </td>
                  <td>{r.elapsed_time !== undefined ? `${r.elapsed_time.toFixed(2)} s` : "—"}</td>
                  <td>{r.total_tokens ?? 0}</td>
                  <td>{r.total_steps ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open ? <ConversationDrawer runId={open} onClose={() => setOpen(null)} onChanged={() => undefined} /> : null}
    </div>
  );
}

export type { LogMessage };

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { AgentThought, Citation, LogConversation, LogMessage } from "../../api/models";
import { Markdown } from "../../components/Markdown";
import { ErrorBox, formatTime, Loading, Modal } from "../../components/ui";
import { useApp } from "../AppShell";

interface NodeRun {
  id: string;
  node_id: string;
  node_type: string;
  title: string;
  status: string;
  elapsed_time: number | null;
  inputs: unknown;
  outputs: unknown;
  error: string | null;
}

/** The prompt messages a turn sent, from `message` (a list of `{role, text|content}`), as text. */
export function promptMessages(message: unknown): { role: string; text: string }[] {
  if (!Array.isArray(message)) return [];
  return message.map((m: unknown) => {
    const item = (m ?? {}) as { role?: unknown; text?: unknown; content?: unknown };
    const content = item.text ?? item.content;
    const text = typeof content === "string" ? content : JSON.stringify(content ?? "", null, 2);
    return { role: String(item.role ?? "user"), text };
  });
}

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <pre className="code-block small">{typeof value === "string" ? value : JSON.stringify(value, null, 2)}</pre>;
}

/** A side panel with the messages of a conversation (or one workflow run) and the trace of each answer. */
export function ConversationDrawer({
  conversation,
  runId,
  onClose,
  onChanged,
}: {
  conversation?: LogConversation;
  runId?: string;
  onClose: () => void;
  onChanged: () => void;
}) {
  const { t } = useTranslation();
  const { app } = useApp();
  const [messages, setMessages] = useState<LogMessage[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    if (!conversation) return setMessages([]);
    try {
      const page = await api<{ data: LogMessage[] }>("get", "/console/api/apps/{app_id}/chat-messages", {
        path: { app_id: app.id },
        query: { conversation_id: conversation.id, limit: 100 },
      });
      setMessages(page.data);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [conversation?.id]);
  useEffect(() => {
    // Escape over a modal opened from the drawer (annotate) closes that modal only.
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && !document.querySelector(".modal-backdrop") && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="drawer-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <aside className="drawer" role="dialog" aria-label={t("logs.detail")} data-testid="log-drawer">
        <div className="row-between">
          <h2>{conversation?.name || t("logs.detail")}</h2>
          <button type="button" className="btn btn-ghost btn-small" aria-label="×" onClick={onClose}>
            ✕
          </button>
        </div>
        <ErrorBox error={error} />
        {runId ? <NodeRuns runId={runId} /> : messages === null ? <Loading /> : null}
        {(messages ?? []).map((m) => (
          <MessageCard
            key={m.id}
            message={m}
            onChanged={() => {
              void load();
              onChanged();
            }}
          />
        ))}
      </aside>
    </div>
  );
}

function MessageCard({ message, onChanged }: { message: LogMessage; onChanged: () => void }) {
  const { t, i18n } = useTranslation();
  const { app } = useApp();
  const [tab, setTab] = useState<"prompt" | "retrieved" | "thoughts" | "nodes" | null>(null);
  const [annotating, setAnnotating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mine = message.feedbacks.find((f) => f.from_source === "admin")?.rating ?? null;
  const theirs = message.feedbacks.find((f) => f.from_source === "user")?.rating ?? null;
  const citations: Citation[] = message.metadata?.retriever_resources ?? [];
  const thoughts: AgentThought[] = message.agent_thoughts ?? [];
  const prompt = promptMessages(message.message);

  const rate = async (rating: "like" | "dislike") => {
    try {
      await api("post", "/console/api/apps/{app_id}/feedbacks", {
        path: { app_id: app.id },
        body: { message_id: message.id, rating: mine === rating ? null : rating },
      });
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const tabs = [
    ["prompt", t("logs.prompt"), prompt.length],
    ["retrieved", t("logs.retrieved"), citations.length],
    ["thoughts", t("logs.thoughts"), thoughts.length],
    ["nodes", t("logs.nodes"), message.workflow_run_id ? 1 : 0],
  ] as const;
  return (
    <div className="log-message" data-testid="log-message">
      <div className="muted small">{formatTime(message.created_at, i18n.language)}</div>
      <div className="msg msg-user">
        <div className="bubble">{message.query}</div>
      </div>
      <div className={message.status === "error" || message.error ? "bubble error" : "bubble"}>
        <Markdown text={message.answer} />
        {message.error ? (
          <div role="alert" className="field-error">
            {t("logs.error")}: {message.error}
          </div>
        ) : null}
      </div>
      {message.annotation ? (
        <div className="notice small" data-testid="annotation-shown">
          <strong>{t("logs.annotation")}:</strong> {message.annotation.content}
        </div>
      ) : null}
      <div className="row wrap small muted" data-testid="message-stats">
        <span>
          {t("logs.model")}: {message.model_provider ? `${message.model_provider}/${message.model_id ?? ""}` : "—"}
        </span>
        <span>
          {t("logs.tokens")}: {message.message_tokens} + {message.answer_tokens}
        </span>
        <span>
          {t("logs.price")}: {message.total_price} {message.currency}
        </span>
        <span>
          {t("logs.latency")}: {(message.provider_response_latency ?? 0).toFixed(3)} s
        </span>
        {theirs ? <span>{t("logs.userFeedback")}: {theirs === "like" ? "👍" : "👎"}</span> : null}
      </div>
      <div className="row wrap">
        <button type="button" className={mine === "like" ? "btn btn-small on" : "btn btn-small"} aria-pressed={mine === "like"} data-testid="admin-like" onClick={() => void rate("like")}>
          👍 {t("logs.like")}
        </button>
        <button type="button" className={mine === "dislike" ? "btn btn-small on" : "btn btn-small"} aria-pressed={mine === "dislike"} data-testid="admin-dislike" onClick={() => void rate("dislike")}>
          👎 {t("logs.dislike")}
        </button>
        <button type="button" className="btn btn-small" data-testid="annotate" onClick={() => setAnnotating(true)}>
          ✎ {t("logs.annotate")}
        </button>
      </div>
      <ErrorBox error={error} />
      <div className="tabs tabs-small" role="tablist" aria-label={t("logs.trace")}>
        {tabs.map(([key, label, count]) => (
          <button key={key} type="button" role="tab" aria-selected={tab === key} className={tab === key ? "active" : ""} data-testid={`trace-${key}`} onClick={() => setTab(tab === key ? null : key)}>
            {label} {count && key !== "nodes" ? `(${count})` : ""}
          </button>
        ))}
      </div>
      {tab === "prompt" ? (
        prompt.length ? (
          prompt.map((p, i) => (
            <div key={i} className="stack" style={{ gap: 2 }}>
              <span className="badge">{p.role}</span>
              <Json value={p.text} />
            </div>
          ))
        ) : (
          <p className="muted small">{t("logs.noTrace")}</p>
        )
      ) : null}
      {tab === "retrieved" ? (
        citations.length ? (
          citations.map((c, i) => (
            <div key={i} className="segment small" data-testid="trace-chunk">
              <div className="row-between muted">
                <span>
                  {c.dataset_name ? `${c.dataset_name} · ` : ""}
                  {c.document_name}
                </span>
                {typeof c.score === "number" ? <span>{c.score.toFixed(3)}</span> : null}
              </div>
              <div>{c.content}</div>
            </div>
          ))
        ) : (
          <p className="muted small">{t("logs.noTrace")}</p>
        )
      ) : null}
      {tab === "thoughts" ? (
        thoughts.length ? (
          thoughts.map((step, i) => (
            <div key={step.id ?? i} className="segment small">
              {step.thought ? <div>{step.thought}</div> : null}
              {step.tool ? (
                <>
                  <strong>
                    {t("logs.tool")}: {step.tool}
                  </strong>
                  <span className="muted">{t("logs.toolInput")}</span>
                  <Json value={step.tool_input} />
                  <span className="muted">{t("logs.toolOutput")}</span>
                  <Json value={step.observation} />
                </>
              ) : null}
            </div>
          ))
        ) : (
          <p className="muted small">{t("logs.noTrace")}</p>
        )
      ) : null}
      {tab === "nodes" ? message.workflow_run_id ? <NodeRuns runId={message.workflow_run_id} /> : <p className="muted small">{t("logs.noTrace")}</p> : null}
      {annotating ? (
        <AnnotateModal
          question={message.query}
          answer={message.annotation?.content ?? message.answer}
          messageId={message.id}
          onClose={() => setAnnotating(false)}
          onSaved={() => {
            setAnnotating(false);
            onChanged();
          }}
        />
      ) : null}
    </div>
  );
}

function NodeRuns({ runId }: { runId: string }) {
  const { t } = useTranslation();
  const { app } = useApp();
  const [nodes, setNodes] = useState<NodeRun[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<{ data: NodeRun[] }>("get", "/console/api/apps/{app_id}/workflow-runs/{run_id}/node-executions", { path: { app_id: app.id, run_id: runId } })
      .then((r) => setNodes(r.data))
      .catch(setError);
  }, [app.id, runId]);
  if (error) return <ErrorBox error={error} />;
  if (!nodes) return <Loading />;
  return (
    <div className="stack" data-testid="node-runs">
      {nodes.length === 0 ? <p className="muted small">{t("logs.noTrace")}</p> : null}
      {nodes.map((n) => (
        <details key={n.id} className="segment small">
          <summary className="row-between">
            <span>
              <strong>{n.title}</strong> <span className="muted">{n.node_type}</span>
            </span>
            <span>
              <span className={n.status === "succeeded" ? "badge badge-green" : n.status === "failed" ? "badge badge-red" : "badge"}>{n.status}</span>{" "}
              {n.elapsed_time !== null ? `${n.elapsed_time.toFixed(3)} s` : ""}
            </span>
          </summary>
          {n.error ? <div className="field-error">{n.error}</div> : null}
          <span className="muted">{t("logs.toolInput")}</span>
          <Json value={n.inputs} />
          <span className="muted">{t("workflowRun.outputs")}</span>
          <Json value={n.outputs} />
        </details>
      ))}
    </div>
  );
}

/** Add or edit an annotation (from a logged reply, or a blank one on the annotations page). */
export function AnnotateModal({
  question: initialQuestion,
  answer: initialAnswer,
  messageId,
  annotationId,
  onClose,
  onSaved,
}: {
  question: string;
  answer: string;
  messageId?: string;
  annotationId?: string;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation();
  const { app } = useApp();
  const [question, setQuestion] = useState(initialQuestion);
  const [answer, setAnswer] = useState(initialAnswer);
  const [error, setError] = useState<unknown>(null);
  const save = async () => {
    try {
      if (annotationId) {
        await api("post", "/console/api/apps/{app_id}/annotations/{annotation_id}", { path: { app_id: app.id, annotation_id: annotationId }, body: { question, answer } });
      } else {
        await api("post", "/console/api/apps/{app_id}/annotations", { path: { app_id: app.id }, body: { question, answer, message_id: messageId ?? null } });
      }
      onSaved();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Modal
      title={annotationId ? t("annotations.edit") : messageId ? t("logs.annotate") : t("annotations.add")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="annotation-save" disabled={!question.trim() || !answer.trim()} onClick={() => void save()}>
            {t("common.save")}
          </button>
        </>
      }
    >
      <div className="field">
        <label htmlFor="annotation-question">{t("annotations.question")}</label>
        <textarea id="annotation-question" value={question} onChange={(e) => setQuestion(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="annotation-answer">{t("annotations.answer")}</label>
        <textarea id="annotation-answer" rows={5} value={answer} onChange={(e) => setAnswer(e.target.value)} />
      </div>
      <ErrorBox error={error} />
    </Modal>
  );
}

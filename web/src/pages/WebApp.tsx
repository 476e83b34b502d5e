import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { useParams } from "react-router";
import type { Conversation, HistoryMessage, WebParameters, WebSite } from "../api/models";
import { webApi, webFetch } from "../api/webapp";
import { ChatPanel, type ChatTurn } from "../components/ChatPanel";
import { InputsForm, missingInputs } from "../components/InputsForm";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { Markdown } from "../components/Markdown";
import { ErrorBox, Loading } from "../components/ui";
import { chatMedia, messageFiles, type MediaParameters, type UploadedFile } from "../lib/chatMedia";
import { readEvents } from "../lib/sse";
import { BatchRun } from "./BatchRun";

export function useWebApp(code: string) {
  const [site, setSite] = useState<WebSite | null>(null);
  const [params, setParams] = useState<WebParameters | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    Promise.all([webApi<WebSite>(code, "get", "/api/site"), webApi<WebParameters>(code, "get", "/api/parameters")])
      .then(([s, p]) => {
        setSite(s);
        setParams(p);
        document.title = s.site.title;
      })
      .catch(setError);
  }, [code]);
  return { site, params, error };
}

function toTurns(messages: HistoryMessage[]): ChatTurn[] {
  return messages.map((m) => ({
    key: m.id,
    query: m.query,
    answer: m.answer,
    messageId: m.id,
    done: true,
    citations: m.retriever_resources ?? [],
    feedback: m.feedback?.rating ?? null,
  }));
}

/** The end-user chat app at `/chat/{code}`: conversations on the left, the chat on the right. */
export function WebChatPage() {
  const { t } = useTranslation();
  const { code = "" } = useParams();
  const { site, params, error } = useWebApp(code);
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const [history, setHistory] = useState<ChatTurn[]>([]);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [renaming, setRenaming] = useState<string | null>(null);
  const [newName, setNewName] = useState("");
  const [round, setRound] = useState(0);
  const [listError, setListError] = useState<unknown>(null);

  const loadConversations = useCallback(async () => {
    try {
      setConversations((await webApi<{ data: Conversation[] }>(code, "get", "/api/conversations", { query: { limit: 50 } })).data);
    } catch (e) {
      setListError(e);
    }
  }, [code]);

  useEffect(() => {
    if (site) void loadConversations();
  }, [site, loadConversations]);

  const open = async (id: string) => {
    try {
      const page = await webApi<{ data: HistoryMessage[] }>(code, "get", "/api/messages", { query: { conversation_id: id, limit: 100 } });
      setHistory(toTurns(page.data));
      setCurrent(id);
      setRound((r) => r + 1);
    } catch (e) {
      setListError(e);
    }
  };
  const startNew = () => {
    setCurrent(null);
    setHistory([]);
    setRound((r) => r + 1);
  };
  const rename = async (id: string) => {
    try {
      await webApi(code, "post", "/api/conversations/{conversation_id}/name", { path: { conversation_id: id }, body: { name: newName, auto_generate: false } });
      setRenaming(null);
      await loadConversations();
    } catch (e) {
      setListError(e);
    }
  };
  const remove = async (id: string) => {
    try {
      await webApi(code, "delete", "/api/conversations/{conversation_id}", { path: { conversation_id: id } });
      if (id === current) startNew();
      await loadConversations();
    } catch (e) {
      setListError(e);
    }
  };

  if (error) {
    return (
      <div className="auth">
        <div className="card auth-card">
          <h1>{t("webapp.unavailable")}</h1>
          <ErrorBox error={error} />
        </div>
      </div>
    );
  }
  if (!site || !params) return <Loading />;
  const form = params.user_input_form ?? [];
  const media = chatMedia(params as MediaParameters);
  // Uploads and recordings go through the web-app routes with this visitor's passport.
  const postForm = (url: string, file: Blob, name: string) => {
    const body = new FormData();
    body.append("file", file, name);
    return webFetch(code, "post", url, body);
  };
  return (
    <div className="webapp" data-testid="webapp-chat">
      <aside className="webapp-side">
        <div className="brand" style={{ padding: "4px 4px 8px" }}>
          <span className="app-icon" style={{ width: 32, height: 32, fontSize: 16, background: site.site.icon_background ?? undefined }}>
            {site.site.icon ?? "💬"}
          </span>
          <span>{site.site.title}</span>
        </div>
        <button type="button" className="btn btn-primary btn-block" data-testid="new-chat" onClick={startNew}>
          + {t("webapp.newChat")}
        </button>
        <div className="muted small">{t("webapp.conversations")}</div>
        <ErrorBox error={listError} />
        <div className="conv-list" data-testid="conversation-list">
          {conversations.map((c) =>
            renaming === c.id ? (
              <div key={c.id} className="row">
                <input type="text" aria-label={t("webapp.rename")} value={newName} autoFocus onChange={(e) => setNewName(e.target.value)} />
                <button type="button" className="btn btn-small" onClick={() => void rename(c.id)}>
                  {t("common.save")}
                </button>
              </div>
            ) : (
              <div key={c.id} className={c.id === current ? "conv-item active" : "conv-item"}>
                <button type="button" title={c.name} onClick={() => void open(c.id)}>
                  {c.name || t("webapp.untitled")}
                </button>
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  aria-label={t("webapp.rename")}
                  onClick={() => {
                    setRenaming(c.id);
                    setNewName(c.name);
                  }}
                >
                  ✎
                </button>
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("common.delete")} onClick={() => void remove(c.id)}>
                  ✕
                </button>
              </div>
            ),
          )}
        </div>
        <div style={{ marginTop: "auto" }}>
          <LanguageSwitch />
          {site.site.copyright ? <p className="muted small">© {site.site.copyright}</p> : null}
        </div>
      </aside>
      <main className="webapp-main">
        <div className="webapp-head">
          <h2>{conversations.find((c) => c.id === current)?.name || site.site.title}</h2>
        </div>
        <div className="webapp-body">
          {form.length > 0 && current === null ? (
            <div className="inputs-box" style={{ borderRadius: 8, margin: 12, border: "1px solid var(--border)" }}>
              <InputsForm form={form} values={inputs} onChange={setInputs} />
            </div>
          ) : null}
          <ChatPanel
            key={round}
            history={history}
            conversationId={current}
            onConversation={(id) => setCurrent(id)}
            onTurnDone={() => void loadConversations()}
            openingStatement={params.opening_statement}
            suggestedQuestions={params.suggested_questions}
            showCitations={params.retriever_resource?.enabled}
            check={() => {
              const missing = current === null ? missingInputs(form, inputs) : [];
              return missing.length ? t("chat.missingInputs", { names: missing.join(", ") }) : null;
            }}
            send={(query, conversationId, signal, files) =>
              webFetch(
                code,
                "post",
                "/api/chat-messages",
                { query, inputs, conversation_id: conversationId ?? "", response_mode: "streaming", files: messageFiles(files) },
                signal,
              )
            }
            imageLimit={media.imageLimit}
            uploadImage={
              media.imageLimit > 0 ? async (file) => (await (await postForm("/api/files/upload", file, file.name)).json()) as UploadedFile : undefined
            }
            transcribe={
              media.speechToText
                ? async (audio, name) => ((await (await postForm("/api/audio-to-text", audio, name)).json()) as { text: string }).text
                : undefined
            }
            speak={
              media.textToSpeech
                ? async (messageId, text) => (await webFetch(code, "post", "/api/text-to-audio", { message_id: messageId, text })).blob()
                : undefined
            }
            onStop={(taskId) => void webFetch(code, "post", `/api/chat-messages/${taskId}/stop`, {}).catch(() => undefined)}
            onFeedback={async (messageId, rating) => {
              await webApi(code, "post", "/api/messages/{message_id}/feedbacks", { path: { message_id: messageId }, body: { rating } });
            }}
            followUps={
              params.suggested_questions_after_answer?.enabled
                ? async (messageId) =>
                    (await webApi<{ data: string[] }>(code, "get", "/api/messages/{message_id}/suggested-questions", { path: { message_id: messageId } })).data
                : undefined
            }
          />
        </div>
      </main>
    </div>
  );
}

/** The end-user text generator at `/completion/{code}`. */
export function WebCompletionPage() {
  const { t } = useTranslation();
  const { code = "" } = useParams();
  const { site, params, error } = useWebApp(code);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [output, setOutput] = useState("");
  const [runError, setRunError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [batch, setBatch] = useState(false);

  if (error) return <ErrorBox error={error} />;
  if (!site || !params) return <Loading />;
  const run = async () => {
    const missing = missingInputs(params.user_input_form ?? [], inputs);
    setNotice(missing.length ? t("chat.missingInputs", { names: missing.join(", ") }) : null);
    if (missing.length) return;
    setBusy(true);
    setOutput("");
    setRunError(null);
    try {
      const response = await webFetch(code, "post", "/api/completion-messages", { inputs, response_mode: "streaming" });
      await readEvents(response, (event) => {
        if (event.event === "message") setOutput((o) => o + String(event.answer ?? ""));
        else if (event.event === "message_replace") setOutput(String(event.answer ?? ""));
        else if (event.event === "error") setRunError(new Error(String(event.message)));
      });
    } catch (e) {
      setRunError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style={{ minHeight: "100vh", background: "var(--bg)" }} data-testid="webapp-completion">
      <div className="webapp-head" style={{ background: "#fff" }}>
        <div className="row">
          <span className="app-icon" style={{ width: 32, height: 32, fontSize: 16 }}>
            {site.site.icon ?? "📝"}
          </span>
          <h2>{site.site.title}</h2>
        </div>
        <div style={{ width: 140 }}>
          <LanguageSwitch />
        </div>
      </div>
      <div className="gen-layout">
        <section className="panel stack">
          {site.site.description ? <p className="muted">{site.site.description}</p> : null}
          <div className="tabs" role="tablist" style={{ marginBottom: 0 }}>
            <button type="button" role="tab" aria-selected={!batch} className={batch ? "" : "active"} onClick={() => setBatch(false)}>
              {t("batch.single")}
            </button>
            <button type="button" role="tab" aria-selected={batch} className={batch ? "active" : ""} data-testid="tab-batch" onClick={() => setBatch(true)}>
              {t("batch.batch")}
            </button>
          </div>
          {batch ? (
            <BatchRun code={code} form={params.user_input_form ?? []} />
          ) : (
            <>
              <InputsForm form={params.user_input_form ?? []} values={inputs} onChange={setInputs} />
              {notice ? <div className="notice">{notice}</div> : null}
              <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run()}>
                {t("generator.run")}
              </button>
            </>
          )}
        </section>
        <section className="panel stack">
          <h3>{t("generator.output")}</h3>
          <ErrorBox error={runError} />
          <div className="gen-output">{output ? <Markdown text={output} /> : <span className="muted">{t("generator.empty")}</span>}</div>
        </section>
      </div>
    </div>
  );
}

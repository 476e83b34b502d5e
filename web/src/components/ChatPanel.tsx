import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import type { AgentThought, Citation } from "../api/models";
import { recorderMime, recordingName, type UploadedFile } from "../lib/chatMedia";
import { readEvents, type StreamEvent } from "../lib/sse";
import { Citations } from "./Citations";
import { Markdown } from "./Markdown";
import { mergeThought, ToolCalls } from "./ToolCalls";

export interface ChatTurn {
  key: string;
  query: string;
  answer: string;
  messageId?: string;
  error?: string;
  done: boolean;
  citations: Citation[];
  feedback?: "like" | "dislike" | null;
  /** Names of the images sent with the query. */
  files?: string[];
  /** An agent's steps (`agent_thought` events): the tools it called. */
  thoughts?: AgentThought[];
}

export interface ChatPanelProps {
  /** Start one streaming turn; resolves to the event-stream response. */
  send: (query: string, conversationId: string | null, signal: AbortSignal, files: UploadedFile[]) => Promise<Response>;
  conversationId: string | null;
  onConversation: (id: string) => void;
  history?: ChatTurn[];
  openingStatement?: string | null;
  suggestedQuestions?: string[];
  showCitations?: boolean;
  /** A message to show instead of sending (e.g. required inputs missing), or null to send. */
  check?: () => string | null;
  onFeedback?: (messageId: string, rating: "like" | "dislike" | null) => Promise<void>;
  onStop?: (taskId: string) => void;
  followUps?: (messageId: string) => Promise<string[]>;
  onTurnDone?: () => void;
  placeholder?: string;
  /** Upload one image for the next message; set only where the app allows image upload. */
  uploadImage?: (file: File) => Promise<UploadedFile>;
  /** How many images one message may carry. */
  imageLimit?: number;
  /** Turn a recording into text; set only where speech to text is enabled. */
  transcribe?: (audio: Blob, filename: string) => Promise<string>;
  /** The spoken audio of an answer; set only where text to speech is enabled. */
  speak?: (messageId: string, text: string) => Promise<Blob>;
}

function problemText(error: unknown, fallback: string): string {
  return error instanceof ApiError ? `${error.message} (${error.code} · ${error.status})` : error instanceof Error && error.message ? error.message : fallback;
}

let counter = 0;

/** A streaming chat: the transcript, suggested questions, and the input box. */
export function ChatPanel(props: ChatPanelProps) {
  const { t } = useTranslation();
  const [turns, setTurns] = useState<ChatTurn[]>(props.history ?? []);
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [followUps, setFollowUps] = useState<string[]>([]);
  const abort = useRef<AbortController | null>(null);
  const task = useRef<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const [attached, setAttached] = useState<UploadedFile[]>([]);
  const [uploading, setUploading] = useState(false);
  const [recording, setRecording] = useState(false);
  const [transcribing, setTranscribing] = useState(false);
  const recorder = useRef<MediaRecorder | null>(null);
  const picker = useRef<HTMLInputElement>(null);

  useEffect(() => {
    setTurns(props.history ?? []);
  }, [props.history]);

  useEffect(() => {
    // `scrollTo` is missing where there is no layout (jsdom), so it is optional here.
    scroller.current?.scrollTo?.({ top: scroller.current.scrollHeight });
  }, [turns]);

  useEffect(
    () => () => {
      abort.current?.abort();
      recorder.current?.stop();
    },
    [],
  );

  const update = (key: string, change: (turn: ChatTurn) => ChatTurn) =>
    setTurns((all) => all.map((turn) => (turn.key === key ? change(turn) : turn)));

  const ask = async (query: string) => {
    const text = query.trim();
    if (!text || busy) return;
    const problem = props.check?.() ?? null;
    setNotice(problem);
    if (problem) return;
    const key = `turn-${++counter}`;
    const files = attached;
    setTurns((all) => [...all, { key, query: text, answer: "", done: false, citations: [], files: files.map((f) => f.name) }]);
    setDraft("");
    setAttached([]);
    setFollowUps([]);
    setBusy(true);
    const controller = new AbortController();
    abort.current = controller;
    let messageId: string | undefined;
    try {
      const response = await props.send(text, props.conversationId, controller.signal, files);
      await readEvents(response, (event: StreamEvent) => {
        if (typeof event.task_id === "string") task.current = event.task_id;
        if (typeof event.conversation_id === "string" && event.conversation_id && event.conversation_id !== props.conversationId) {
          props.onConversation(event.conversation_id);
        }
        if (typeof event.message_id === "string") messageId = event.message_id;
        const kind = event.event;
        if (kind === "message" || kind === "agent_message") {
          const piece = typeof event.answer === "string" ? event.answer : "";
          update(key, (turn) => ({ ...turn, answer: turn.answer + piece, messageId }));
        } else if (kind === "agent_thought") {
          const thought = event as unknown as AgentThought;
          update(key, (turn) => ({ ...turn, thoughts: mergeThought(turn.thoughts ?? [], thought) }));
        } else if (kind === "message_replace") {
          update(key, (turn) => ({ ...turn, answer: String(event.answer ?? "") }));
        } else if (kind === "message_end") {
          const metadata = (event.metadata ?? {}) as { retriever_resources?: Citation[] };
          update(key, (turn) => ({ ...turn, messageId, citations: metadata.retriever_resources ?? [] }));
        } else if (kind === "error") {
          update(key, (turn) => ({ ...turn, error: `${String(event.message ?? t("errors.generic"))} (${String(event.code ?? "error")})` }));
        }
      });
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "AbortError")) {
        const message =
          error instanceof ApiError ? `${error.message} (${error.code} · ${error.status})` : t("errors.network");
        update(key, (turn) => ({ ...turn, error: message }));
      }
    } finally {
      update(key, (turn) => ({ ...turn, done: true, messageId }));
      setBusy(false);
      abort.current = null;
      task.current = null;
      props.onTurnDone?.();
    }
    if (messageId && props.followUps) {
      try {
        setFollowUps(await props.followUps(messageId));
      } catch {
        /* follow-up questions are optional */
      }
    }
  };

  const stop = () => {
    if (task.current) props.onStop?.(task.current);
    abort.current?.abort();
  };

  const rate = async (turn: ChatTurn, rating: "like" | "dislike") => {
    if (!turn.messageId || !props.onFeedback) return;
    const next = turn.feedback === rating ? null : rating;
    await props.onFeedback(turn.messageId, next);
    update(turn.key, (x) => ({ ...x, feedback: next }));
  };

  const attach = async (list: FileList | null) => {
    if (!list || !props.uploadImage) return;
    const room = Math.max(0, (props.imageLimit ?? 1) - attached.length);
    setUploading(true);
    setNotice(null);
    try {
      for (const file of Array.from(list).slice(0, room)) {
        const uploaded = await props.uploadImage(file);
        setAttached((all) => [...all, uploaded]);
      }
    } catch (error) {
      setNotice(problemText(error, t("errors.network")));
    } finally {
      setUploading(false);
      if (picker.current) picker.current.value = "";
    }
  };

  const record = async () => {
    if (recorder.current) {
      recorder.current.stop();
      return;
    }
    const transcribe = props.transcribe;
    if (!transcribe) return;
    setNotice(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const mime = recorderMime((m) => MediaRecorder.isTypeSupported(m));
      const rec = new MediaRecorder(stream, mime ? { mimeType: mime } : undefined);
      const chunks: Blob[] = [];
      rec.ondataavailable = (event) => {
        if (event.data.size > 0) chunks.push(event.data);
      };
      rec.onstop = () => {
        stream.getTracks().forEach((track) => track.stop());
        recorder.current = null;
        setRecording(false);
        const type = rec.mimeType || mime || "audio/webm";
        setTranscribing(true);
        transcribe(new Blob(chunks, { type }), recordingName(type))
          .then((text) => setDraft((current) => (current.trim() ? `${current} ${text}` : text)))
          .catch((error: unknown) => setNotice(problemText(error, t("errors.network"))))
          .finally(() => setTranscribing(false));
      };
      recorder.current = rec;
      rec.start();
      setRecording(true);
    } catch (error) {
      setNotice(problemText(error, t("errors.generic")));
    }
  };

  const play = async (turn: ChatTurn) => {
    if (!turn.messageId || !props.speak) return;
    try {
      const url = URL.createObjectURL(await props.speak(turn.messageId, turn.answer));
      const audio = new Audio(url);
      audio.onended = () => URL.revokeObjectURL(url);
      await audio.play();
    } catch (error) {
      setNotice(problemText(error, t("errors.network")));
    }
  };

  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void ask(draft);
    }
  };

  const suggestions = turns.length === 0 ? (props.suggestedQuestions ?? []).filter(Boolean) : followUps;

  return (
    <div className="chat" data-testid="chat">
      <div className="chat-scroll" ref={scroller}>
        {props.openingStatement ? (
          <div className="msg msg-bot">
            <div className="bubble" data-testid="opening-statement">
              <Markdown text={props.openingStatement} />
            </div>
          </div>
        ) : null}
        {turns.length === 0 && !props.openingStatement ? <div className="empty">{t("chat.empty")}</div> : null}
        {turns.map((turn) => (
          <div key={turn.key} className="stack">
            <div className="msg msg-user">
              <div className="bubble">
                {turn.query}
                {turn.files?.length ? <div className="muted small">📎 {turn.files.join(", ")}</div> : null}
              </div>
            </div>
            <div className="msg msg-bot">
              <div>
                {turn.thoughts?.length ? <ToolCalls thoughts={turn.thoughts} /> : null}
                <div
                  className={turn.error ? "bubble error" : turn.done ? "bubble" : "bubble typing"}
                  data-testid={turn.done ? "answer" : "answer-streaming"}
                >
                  {turn.answer ? <Markdown text={turn.answer} /> : null}
                  {turn.error ? <div role="alert">{turn.error}</div> : null}
                  {!turn.answer && !turn.error && !turn.done ? <span className="muted">{t("chat.thinking")}</span> : null}
                </div>
                {props.showCitations && turn.citations.length > 0 ? <Citations citations={turn.citations} /> : null}
                {turn.done && turn.messageId && (props.onFeedback || props.speak) ? (
                  <div className="msg-actions">
                    {props.speak && turn.answer ? (
                      <button type="button" aria-label={t("chat.play")} data-testid="chat-play" onClick={() => void play(turn)}>
                        🔊
                      </button>
                    ) : null}
                    {props.onFeedback ? (
                      <>
                        <button
                          type="button"
                          className={turn.feedback === "like" ? "on" : ""}
                          aria-label={t("chat.like")}
                          onClick={() => void rate(turn, "like")}
                        >
                          <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true"><path d="M7 10v11H3V10h4zm0 0l4-8a3 3 0 013 3v4h5.5a2 2 0 012 2.3l-1.4 8A2 2 0 0118.1 21H7" /></svg>
                        </button>
                        <button
                          type="button"
                          className={turn.feedback === "dislike" ? "on" : ""}
                          aria-label={t("chat.dislike")}
                          onClick={() => void rate(turn, "dislike")}
                        >
                          <svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true" style={{ transform: "rotate(180deg)" }}><path d="M7 10v11H3V10h4zm0 0l4-8a3 3 0 013 3v4h5.5a2 2 0 012 2.3l-1.4 8A2 2 0 0118.1 21H7" /></svg>
                        </button>
                      </>
                    ) : null}
                  </div>
                ) : null}
              </div>
            </div>
          </div>
        ))}
        {suggestions.length > 0 && !busy ? (
          <div className="suggested" data-testid="suggested">
            {suggestions.map((q) => (
              <button key={q} type="button" onClick={() => void ask(q)}>
                {q}
              </button>
            ))}
          </div>
        ) : null}
      </div>
      {notice ? (
        <div className="notice" role="alert" style={{ margin: "0 12px" }}>
          {notice}
        </div>
      ) : null}
      {attached.length > 0 || uploading ? (
        <div className="row wrap" data-testid="chat-attachments" style={{ margin: "0 12px", gap: 6 }}>
          {attached.map((file) => (
            <span key={file.id} className="badge">
              📎 {file.name}{" "}
              <button
                type="button"
                className="btn btn-ghost btn-small"
                aria-label={t("chat.removeFile", { name: file.name })}
                onClick={() => setAttached((all) => all.filter((f) => f.id !== file.id))}
              >
                ×
              </button>
            </span>
          ))}
          {uploading ? <span className="muted small">{t("chat.uploading")}</span> : null}
        </div>
      ) : null}
      <div className="chat-input">
        {props.uploadImage ? (
          <>
            <input ref={picker} type="file" accept="image/*" multiple hidden data-testid="chat-file" onChange={(e) => void attach(e.target.files)} />
            <button
              type="button"
              className="btn"
              aria-label={t("chat.attach")}
              title={t("chat.attach")}
              data-testid="chat-attach"
              disabled={busy || uploading || attached.length >= (props.imageLimit ?? 1)}
              onClick={() => picker.current?.click()}
            >
              📎
            </button>
          </>
        ) : null}
        {props.transcribe ? (
          <button
            type="button"
            className={recording ? "btn btn-danger" : "btn"}
            aria-label={recording ? t("chat.stopRecording") : t("chat.record")}
            title={transcribing ? t("chat.transcribing") : recording ? t("chat.stopRecording") : t("chat.record")}
            data-testid="chat-mic"
            disabled={busy || transcribing}
            onClick={() => void record()}
          >
            {transcribing ? "…" : recording ? "⏹" : "🎤"}
          </button>
        ) : null}
        <textarea
          value={draft}
          rows={1}
          placeholder={props.placeholder ?? t("chat.placeholder")}
          aria-label={t("chat.placeholder")}
          data-testid="chat-input"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKey}
        />
        {busy ? (
          <button type="button" className="btn" onClick={stop}>
            {t("chat.stop")}
          </button>
        ) : (
          <button type="button" className="btn btn-primary" data-testid="chat-send" disabled={!draft.trim()} onClick={() => void ask(draft)}>
            {t("chat.send")}
          </button>
        )}
      </div>
    </div>
  );
}

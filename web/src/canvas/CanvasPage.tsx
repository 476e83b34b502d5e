/**
 * The workflow canvas of a workflow or chatflow app: build the graph, configure nodes, save the
 * draft (debounced, with the server's hash for conflict detection), run and debug, publish.
 */
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useEdgesState,
  useNodesState,
  useReactFlow,
  type Connection,
  type OnBeforeDelete,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, ApiError, buildUrl, consoleFetch } from "../api/client";
import type { AppDetail, Dataset, ProviderWithModels } from "../api/models";
import { readEvents, type StreamEvent } from "../lib/sse";
import { download, ErrorBox, Loading, Modal } from "../components/ui";
import * as calls from "./api";
import { CONTAINERS, defaultData, newNodeId, sourceHandles, type FlowMode, type NodeKind } from "./catalog";
import { Checklist } from "./Checklist";
import { CanvasViewContext } from "./context";
import { EDGE_TYPES, EdgeActionsContext } from "./edges";
import { FeaturesPanel, type Features } from "./FeaturesPanel";
import {
  autoLayout,
  copySelection,
  edgeId,
  NOTE_TYPE,
  pasteContent,
  patchData,
  sameGraph,
  splitEdge,
  toDsl,
  toFlow,
  type ClipboardContent,
  type DslGraph,
  type DslNode,
  type FlowEdge,
  type FlowNode,
} from "./graph";
import { History as UndoHistory } from "./history";
import { NODE_TYPES } from "./nodes";
import { DRAG_TYPE, Palette } from "./Palette";
import { NodePanel } from "./panels";
import { applyEvent, fromRecords, IDLE_RUN, type NodeExecution, type RunState } from "./run";
import { RunPanel, type StartVariable } from "./RunPanel";
import { VariablesPanel } from "./VariablesPanel";
import { VersionsPanel } from "./VersionsPanel";
import { checkGraph, upstreamVariables, type ConversationVariable, type EnvVariable, type Issue } from "./variables";
import "./canvas.css";

export const CLIPBOARD_KEY = "loomworks.canvas.clipboard";
type Snapshot = { nodes: FlowNode[]; edges: FlowEdge[] };
type SaveState = "saved" | "dirty" | "saving" | "conflict" | "error";
type Side = "run" | "checklist" | "versions" | "variables" | "features" | null;
/** A past run shown over the graph it ran with (when that graph is not the draft's). */
type PastView = { runId: string; nodes: FlowNode[]; edges: FlowEdge[] };

export default function CanvasPage() {
  const { appId = "" } = useParams();
  const [app, setApp] = useState<AppDetail | null>(null);
  const [draft, setDraft] = useState<calls.Draft | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(async () => {
    try {
      const [a, d] = await Promise.all([api<AppDetail>("get", "/console/api/apps/{app_id}", { path: { app_id: appId } }), calls.loadDraft(appId)]);
      setApp(a);
      setDraft(d);
      setGeneration((g) => g + 1);
    } catch (e) {
      setError(e);
    }
  }, [appId]);
  useEffect(() => {
    void reload();
  }, [reload]);
  if (error) return <ErrorBox error={error} />;
  if (!app || !draft) return <Loading />;
  return (
    <ReactFlowProvider key={generation}>
      <Editor app={app} draft={draft} onReload={reload} />
    </ReactFlowProvider>
  );
}

function Editor({ app, draft, onReload }: { app: AppDetail; draft: calls.Draft; onReload: () => Promise<void> }) {
  const { t } = useTranslation("canvas");
  const navigate = useNavigate();
  const location = useLocation();
  const mode: FlowMode = app.mode === "advanced-chat" ? "advanced-chat" : "workflow";
  const flow = useReactFlow<FlowNode, FlowEdge>();
  const initial = useMemo(() => toFlow(draft.graph), [draft]);
  const [nodes, setNodes, onNodesChange] = useNodesState<FlowNode>(initial.nodes);
  const [edges, setEdges, onEdgesChange] = useEdgesState<FlowEdge>(initial.edges);
  const [env, setEnv] = useState<EnvVariable[]>(draft.environment_variables ?? []);
  const [conversation, setConversation] = useState<ConversationVariable[]>(draft.conversation_variables ?? []);
  const [features, setFeatures] = useState<Features>(draft.features ?? {});
  const [past, setPast] = useState<PastView | null>(null);
  const [revision, setRevision] = useState(0);
  const [saveState, setSaveState] = useState<SaveState>("saved");
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [side, setSide] = useState<Side>(null);
  const [run, setRun] = useState<RunState>(IDLE_RUN);
  const [runBusy, setRunBusy] = useState(false);
  const [historyKey, setHistoryKey] = useState(0);
  const [publishing, setPublishing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [models, setModels] = useState<ProviderWithModels[]>([]);
  const [datasets, setDatasets] = useState<{ id: string; name: string }[]>([]);
  const [warnings, setWarnings] = useState<string[]>(() => ((location.state as { warnings?: string[] } | null)?.warnings ?? []).filter(Boolean));

  const raw = useRef(new Map<string, DslNode>((draft.graph.nodes ?? []).map((n) => [String(n.id), n])));
  const hash = useRef(draft.hash);
  const latest = useRef({ nodes, edges, env, conversation, features });
  latest.current = { nodes, edges, env, conversation, features };
  const undo = useRef(new UndoHistory<Snapshot>({ nodes: initial.nodes, edges: initial.edges }));
  const pending = useRef<{ history: boolean; coalesce?: string; restored?: boolean } | null>(null);
  const lastPush = useRef<{ key?: string; at: number }>({ at: 0 });
  const saveTimer = useRef<number | null>(null);
  const saving = useRef<Promise<void> | null>(null);
  const dirty = useRef(false);
  const conflict = useRef(false);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    api<{ data: ProviderWithModels[] }>("get", "/console/api/workspaces/current/models/model-types/{model_type}", { path: { model_type: "llm" } })
      .then((r) => setModels(r.data))
      .catch(() => setModels([]));
    api<{ data: Dataset[] }>("get", "/console/api/datasets", { query: { page: 1, limit: 100 } })
      .then((r) => setDatasets(r.data.map((d) => ({ id: d.id, name: d.name }))))
      .catch(() => setDatasets([]));
  }, []);

  /** Mark a change: it becomes an undo step (unless told otherwise) and is saved shortly. */
  const commit = useCallback((options: { history?: boolean; coalesce?: string } = {}) => {
    pending.current = { history: options.history ?? true, coalesce: options.coalesce };
    // Editing goes back to the draft from a past run's graph.
    setPast(null);
    setRevision((r) => r + 1);
  }, []);

  const save = useCallback(
    async (overwrite = false): Promise<void> => {
      if (saving.current) await saving.current;
      const { nodes: n, edges: e, env: en, conversation: cv, features: ft } = latest.current;
      const graph = toDsl(n, e, raw.current, flow.getViewport());
      dirty.current = false;
      setSaveState("saving");
      const attempt = (async () => {
        try {
          const result = await calls.saveDraft(app.id, {
            graph,
            features: ft,
            hash: overwrite ? "" : hash.current,
            environment_variables: en,
            conversation_variables: cv,
          });
          hash.current = result.hash;
          conflict.current = false;
          setSavedAt(new Date());
          setSaveError(null);
          setSaveState(dirty.current ? "dirty" : "saved");
        } catch (err) {
          dirty.current = true;
          if (err instanceof ApiError && err.status === 409) {
            conflict.current = true;
            setSaveState("conflict");
          }
          else {
            setSaveState("error");
            setSaveError(err);
          }
          throw err;
        }
      })();
      saving.current = attempt.catch(() => undefined);
      try {
        await attempt;
      } finally {
        saving.current = null;
      }
    },
    [app.id, flow],
  );

  /** Save now if anything is unsaved (before running: runs use the saved draft). */
  const flush = useCallback(async () => {
    if (saveTimer.current) {
      window.clearTimeout(saveTimer.current);
      saveTimer.current = null;
    }
    if (saving.current) await saving.current;
    if (dirty.current) await save();
  }, [save]);

  useEffect(() => {
    const change = pending.current;
    if (!change) return;
    pending.current = null;
    const snapshot = { nodes, edges };
    if (change.history) {
      const now = Date.now();
      if (change.coalesce && lastPush.current.key === change.coalesce && now - lastPush.current.at < 1500) undo.current.replace(snapshot);
      else undo.current.push(snapshot);
      lastPush.current = { key: change.coalesce, at: now };
    } else if (!change.restored) {
      undo.current.replace(snapshot);
    }
    dirty.current = true;
    setSaveState((s) => (s === "conflict" ? s : "dirty"));
    if (saveTimer.current) window.clearTimeout(saveTimer.current);
    saveTimer.current = window.setTimeout(() => {
      saveTimer.current = null;
      if (!conflict.current) void save().catch(() => undefined);
    }, 1000);
    // Only commits trigger this effect; `nodes`/`edges` are read as of the committed render.
  }, [revision]);

  useEffect(() => () => abort.current?.abort(), []);

  // Structural checks run when the graph changes, not on every drag frame.
  const issues = useMemo<Issue[]>(
    () => checkGraph(nodes, edges, mode, env, conversation),
    [revision, env, conversation, mode],
  );
  const issuesByNode = useMemo(() => {
    const map = new Map<string, Issue[]>();
    for (const i of issues) if (i.nodeId) map.set(i.nodeId, [...(map.get(i.nodeId) ?? []), i]);
    return map;
  }, [issues]);
  const view = useMemo(() => ({ mode, executions: run.nodes, issues: issuesByNode }), [mode, run.nodes, issuesByNode]);

  const titled = useCallback(
    (kind: NodeKind): string => {
      const base = t(`kinds.${kind}`);
      const used = new Set(latest.current.nodes.map((n) => n.data.title));
      if (!used.has(base)) return base;
      let i = 2;
      while (used.has(`${base} ${i}`)) i += 1;
      return `${base} ${i}`;
    },
    [t],
  );

  const absolute = useCallback((node: FlowNode): { x: number; y: number } => {
    const internal = flow.getInternalNode(node.id);
    return internal?.internals.positionAbsolute ?? node.position;
  }, [flow]);

  const addNode = useCallback(
    (kind: NodeKind, at?: { x: number; y: number }, parentId?: string | null): string | null => {
      const current = latest.current.nodes;
      if (kind === "start" && current.some((n) => n.data.type === "start" && !n.parentId)) {
        setNotice(t("notice.oneStart"));
        return null;
      }
      let position = at;
      if (!position) {
        const anchor = current.find((n) => n.id === selectedId) ?? current.find((n) => n.selected);
        if (anchor && !anchor.parentId) position = { x: absolute(anchor).x + 320, y: absolute(anchor).y };
        else {
          const box = document.querySelector(".wf-flow")?.getBoundingClientRect();
          position = flow.screenToFlowPosition({ x: (box?.left ?? 0) + (box?.width ?? 800) / 2, y: (box?.top ?? 0) + (box?.height ?? 600) / 2 });
        }
      }
      const id = newNodeId();
      const container =
        kind === "start" || kind === "iteration" || kind === "loop"
          ? undefined
          : parentId !== undefined
            ? current.find((n) => n.id === parentId)
            : current.find((n) => {
              if (!CONTAINERS.has(n.data.type)) return false;
              const p = absolute(n);
              const w = n.width ?? n.measured?.width ?? 0;
              const h = n.height ?? n.measured?.height ?? 0;
              return position.x >= p.x && position.x <= p.x + w && position.y >= p.y && position.y <= p.y + h;
            });
      const data: FlowNode["data"] = { ...defaultData(kind, mode), type: kind === "note" ? "" : kind, title: kind === "note" ? "" : titled(kind), desc: "" };
      const node: FlowNode = { id, type: kind === "note" ? NOTE_TYPE : "custom", position, data, selected: true };
      const added: FlowNode[] = [node];
      if (container) {
        const p = absolute(container);
        node.position = { x: position.x - p.x, y: position.y - p.y };
        node.parentId = container.id;
        node.extent = "parent";
        Object.assign(data, container.data.type === "iteration" ? { isInIteration: true, iteration_id: container.id } : { isInLoop: true, loop_id: container.id });
      }
      if (kind === "note") Object.assign(node, { width: 240, height: 120 });
      if (kind === "iteration" || kind === "loop") {
        Object.assign(node, { width: 600, height: 260 });
        const startKind = kind === "iteration" ? "iteration-start" : "loop-start";
        const inner: FlowNode = {
          id: `${id}start`,
          type: "custom-start",
          parentId: id,
          extent: "parent",
          position: { x: 24, y: 80 },
          draggable: false,
          data: { type: startKind, title: "", desc: "", ...(kind === "iteration" ? { isInIteration: true, iteration_id: id } : { isInLoop: true, loop_id: id }) },
        };
        data.start_node_id = inner.id;
        added.push(inner);
      }
      setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added]);
      setSelectedId(id);
      commit();
      return id;
    },
    [absolute, commit, flow, mode, selectedId, setNodes, t, titled],
  );

  /** Put a new node of `kind` on an edge: the edge becomes source → new node → target. */
  const insertOnEdge = useCallback(
    (id: string, kind: NodeKind, at: { x: number; y: number }) => {
      const edge = latest.current.edges.find((e) => e.id === id);
      if (!edge || kind === "start") return;
      const source = latest.current.nodes.find((n) => n.id === edge.source);
      const target = latest.current.nodes.find((n) => n.id === edge.target);
      if (!source || !target) return;
      const sourceRight = source.position.x + (source.width ?? source.measured?.width ?? 244);
      // Where there is room, the node goes on the edge's middle; otherwise it takes the target's
      // place and everything from the target rightwards (at the same level) moves over, as in Dify.
      const room = target.position.x - sourceRight >= 244 + 60;
      const spot = room ? { x: at.x - 122, y: at.y - 45 } : absolute(target);
      const added = addNode(kind, spot, source.parentId ?? null);
      if (!added) return;
      if (!room) {
        const shift = 320;
        setNodes((ns) => ns.map((n) => (n.id !== added && n.parentId === target.parentId && n.position.x >= target.position.x ? { ...n, position: { x: n.position.x + shift, y: n.position.y } } : n)));
      }
      const first = sourceHandles({ ...defaultData(kind, mode), type: kind })[0]?.id ?? null;
      setEdges((es) => splitEdge(es, edge, added, kind === "end" ? null : first));
    },
    [absolute, addNode, mode, setEdges, setNodes],
  );

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      const kind = event.dataTransfer.getData(DRAG_TYPE) as NodeKind;
      if (!kind) return;
      const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      // Dropped on an edge: inserted into it.
      const hit = document
        .elementsFromPoint(event.clientX, event.clientY)
        .map((el) => el.closest('[data-testid^="rf__edge-"]'))
        .find((el): el is Element => Boolean(el));
      const edgeHit = hit?.getAttribute("data-testid")?.slice("rf__edge-".length);
      if (edgeHit && kind !== "start" && kind !== "note" && latest.current.edges.some((e) => e.id === edgeHit)) insertOnEdge(edgeHit, kind, at);
      else addNode(kind, at);
    },
    [addNode, flow, insertOnEdge],
  );

  const isValidConnection = useCallback((c: Connection | FlowEdge) => {
    if (c.source === c.target) return false;
    const byId = new Map(latest.current.nodes.map((n) => [n.id, n]));
    const source = byId.get(c.source);
    const target = byId.get(c.target);
    return Boolean(source && target && source.parentId === target.parentId);
  }, []);

  const onConnect = useCallback(
    (c: Connection) => {
      if (!isValidConnection(c)) return;
      const id = edgeId(c.source, c.sourceHandle, c.target);
      setEdges((es) => (es.some((e) => e.id === id) ? es : [...es, { id, type: "custom", source: c.source, target: c.target, sourceHandle: c.sourceHandle ?? "source", targetHandle: c.targetHandle ?? "target", data: {} }]));
      commit();
    },
    [commit, isValidConnection, setEdges],
  );

  const onBeforeDelete: OnBeforeDelete<FlowNode, FlowEdge> = useCallback(async ({ nodes: doomed, edges: doomedEdges }) => {
    const ids = new Set(doomed.map((n) => n.id));
    const keep = (n: FlowNode) => (n.data.type === "start" && !n.parentId) || ((n.data.type === "iteration-start" || n.data.type === "loop-start") && !ids.has(n.parentId ?? ""));
    const removed = doomed.filter((n) => !keep(n));
    const removedIds = new Set(removed.map((n) => n.id));
    return { nodes: removed, edges: doomedEdges.filter((e) => !ids.has(e.source) || removedIds.has(e.source) || removedIds.has(e.target)) };
  }, []);

  const updateData = useCallback(
    (id: string, patch: Record<string, unknown>) => {
      let handles: Set<string> | null = null;
      setNodes((ns) =>
        ns.map((n) => {
          if (n.id !== id) return n;
          const data = patchData(n.data, patch);
          handles = new Set(sourceHandles(data).map((h) => h.id));
          return { ...n, data };
        }),
      );
      // A removed case, class or fail branch takes its edges with it.
      if ("cases" in patch || "classes" in patch || "error_strategy" in patch) {
        setEdges((es) => es.filter((e) => e.source !== id || !handles || handles.has(e.sourceHandle ?? "source") || (e.sourceHandle === "source" && handles.has("success-branch"))));
      }
      commit({ coalesce: `data:${id}:${Object.keys(patch).join(",")}` });
    },
    [commit, setEdges, setNodes],
  );

  const restore = useCallback(
    (snapshot: Snapshot | null) => {
      if (!snapshot) return;
      setNodes(snapshot.nodes);
      setEdges(snapshot.edges);
      // The snapshot is already the history's present: only save it.
      pending.current = { history: false, restored: true };
      setRevision((r) => r + 1);
    },
    [setEdges, setNodes],
  );

  const copy = useCallback(() => {
    const { nodes: n, edges: e } = latest.current;
    const selected = new Set(n.filter((x) => x.selected).map((x) => x.id));
    if (!selected.size) return;
    const content = copySelection(n, e, selected);
    const text = JSON.stringify(content);
    localStorage.setItem(CLIPBOARD_KEY, text);
    void navigator.clipboard?.writeText(text).catch(() => undefined);
    setNotice(t("notice.copied", { count: content.nodes.length }));
  }, [t]);

  const paste = useCallback(() => {
    const text = localStorage.getItem(CLIPBOARD_KEY);
    if (!text) return;
    let content: ClipboardContent;
    try {
      content = JSON.parse(text) as ClipboardContent;
    } catch {
      return;
    }
    if (content.kind !== "loomworks-canvas") return;
    const added = pasteContent(content, newNodeId);
    setNodes((ns) => [...ns.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added.nodes]);
    setEdges((es) => [...es, ...added.edges]);
    commit();
  }, [commit, setEdges, setNodes]);

  const layout = useCallback(() => {
    setNodes((ns) => autoLayout(ns, latest.current.edges));
    commit();
    window.setTimeout(() => void flow.fitView({ duration: 200 }), 50);
  }, [commit, flow, setNodes]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable)) return;
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "z" && !e.shiftKey) restore(undo.current.undo());
      else if ((key === "z" && e.shiftKey) || key === "y") restore(undo.current.redo());
      else if (key === "c") copy();
      else if (key === "v") paste();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [copy, paste, restore]);

  useEffect(() => {
    if (!notice) return;
    const timer = window.setTimeout(() => setNotice(null), 3000);
    return () => window.clearTimeout(timer);
  }, [notice]);

  // Run and debug.
  const onEvent = useCallback((e: StreamEvent) => setRun((s) => applyEvent(s, e)), []);
  const startRun = useCallback(
    async (inputs: Record<string, unknown>) => {
      setRunBusy(true);
      setPast(null);
      setRun({ ...IDLE_RUN, status: "running" });
      const controller = new AbortController();
      abort.current = controller;
      try {
        await flush();
        await calls.runDraft(app.id, inputs, onEvent, controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) setRun((s) => ({ ...s, status: "failed", error: err instanceof Error ? err.message : String(err) }));
      } finally {
        setRunBusy(false);
        setHistoryKey((k) => k + 1);
      }
    },
    [app.id, flush, onEvent],
  );
  const stop = useCallback(() => {
    if (run.taskId) void calls.stopRun(app.id, run.taskId).catch(() => undefined);
  }, [app.id, run.taskId]);
  const chat = useCallback(
    async (query: string, inputs: Record<string, unknown>, conversationId: string | null, signal: AbortSignal): Promise<Response> => {
      await flush();
      setPast(null);
      setRun({ ...IDLE_RUN, status: "running" });
      const url = buildUrl("/console/api/apps/{app_id}/advanced-chat/workflows/draft/run", { app_id: app.id }, undefined);
      const response = await consoleFetch("post", url, { query, inputs, conversation_id: conversationId }, { signal });
      if (!response.body) return response;
      // One copy of the stream feeds the chat, the other the node states on the canvas.
      const [forChat, forCanvas] = response.body.tee();
      void readEvents(new Response(forCanvas), onEvent)
        .catch(() => undefined)
        .finally(() => setHistoryKey((k) => k + 1));
      return new Response(forChat, { status: response.status, headers: response.headers });
    },
    [app.id, flush, onEvent],
  );
  const openRun = useCallback(
    async (runId: string) => {
      try {
        const [summary, executions] = await Promise.all([calls.getRun(app.id, runId), calls.getNodeExecutions(app.id, runId)]);
        setRun(fromRecords(summary, executions.data));
        const graph = summary.graph as DslGraph | null | undefined;
        const { nodes: n, edges: e } = latest.current;
        setPast(graph && Array.isArray(graph.nodes) && !sameGraph(graph, n, e) ? { runId, ...toFlow(graph) } : null);
      } catch (err) {
        setSaveError(err);
      }
    },
    [app.id],
  );
  const runNode = useCallback(
    async (nodeId: string, inputs: Record<string, unknown>): Promise<NodeExecution> => {
      await flush();
      const result = await calls.runNode(app.id, nodeId, inputs);
      setRun((s) => ({ ...s, nodes: { ...s.nodes, [nodeId]: { ...result, node_id: nodeId } }, order: s.order.includes(nodeId) ? s.order : [...s.order, nodeId] }));
      return result;
    },
    [app.id, flush],
  );
  const rerun = useCallback(
    async (nodeId: string) => {
      if (!run.runId) return;
      setRunBusy(true);
      setSide("run");
      setRun({ ...IDLE_RUN, status: "running" });
      try {
        await flush();
        await calls.rerunFrom(app.id, run.runId, nodeId, onEvent);
      } catch (err) {
        setRun((s) => ({ ...s, status: "failed", error: err instanceof Error ? err.message : String(err) }));
      } finally {
        setRunBusy(false);
        setHistoryKey((k) => k + 1);
      }
    },
    [app.id, flush, onEvent, run.runId],
  );

  const shownNodes = past ? past.nodes : nodes;
  const shownEdges = past ? past.edges : edges;
  const selected = shownNodes.find((n) => n.id === selectedId) ?? null;
  const groups = useMemo(
    () => (selected ? upstreamVariables(selected.id, shownNodes, shownEdges, mode, env, conversation) : []),
    [selected?.id, revision, env, conversation, mode, past],
  );
  const edgeActions = useMemo(() => ({ mode, insert: insertOnEdge, readOnly: past !== null }), [mode, insertOnEdge, past]);
  const startVars = (nodes.find((n) => n.data.type === "start" && !n.parentId)?.data.variables as StartVariable[] | undefined) ?? [];
  const errors = issues.filter((i) => i.severity === "error").length;

  const exportApp = async () => {
    try {
      await flush();
      const result = await calls.exportDsl(app.id);
      download(`${app.name}.yml`, result.data);
    } catch (err) {
      setSaveError(err);
    }
  };

  const saveLabel =
    saveState === "saving"
      ? t("save.saving")
      : saveState === "dirty"
        ? t("save.dirty")
        : saveState === "conflict"
          ? t("save.conflict")
          : saveState === "error"
            ? t("save.error")
            : savedAt
              ? t("save.savedAt", { time: savedAt.toLocaleTimeString() })
              : t("save.saved");

  return (
    <CanvasViewContext.Provider value={view}>
      <EdgeActionsContext.Provider value={edgeActions}>
      <div className="wf-page" data-testid="canvas-page" data-mode={mode}>
        <header className="wf-toolbar">
          <Link to={`/apps/${app.id}/overview`} className="btn btn-ghost btn-small" aria-label={t("toolbar.back")}>
            ←
          </Link>
          <strong className="wf-app-name" data-testid="canvas-app-name">
            {app.name}
          </strong>
          <span className={`wf-save wf-save-${saveState}`} data-testid="save-state" data-state={saveState}>
            {saveLabel}
          </span>
          <span className="grow" />
          <button type="button" className="btn btn-small" data-testid="undo" title="Ctrl+Z" disabled={!undo.current.canUndo} onClick={() => restore(undo.current.undo())}>
            ↶
          </button>
          <button type="button" className="btn btn-small" data-testid="redo" title="Ctrl+Shift+Z" disabled={!undo.current.canRedo} onClick={() => restore(undo.current.redo())}>
            ↷
          </button>
          <button type="button" className="btn btn-small" data-testid="copy" title="Ctrl+C" onClick={copy}>
            {t("toolbar.copy")}
          </button>
          <button type="button" className="btn btn-small" data-testid="paste" title="Ctrl+V" onClick={paste}>
            {t("toolbar.paste")}
          </button>
          <button type="button" className="btn btn-small" data-testid="auto-layout" onClick={layout}>
            {t("toolbar.layout")}
          </button>
          <button type="button" className={side === "variables" ? "btn btn-small active" : "btn btn-small"} data-testid="open-variables" onClick={() => setSide(side === "variables" ? null : "variables")}>
            {t("toolbar.variables")}
          </button>
          {mode === "advanced-chat" ? (
            <button type="button" className={side === "features" ? "btn btn-small active" : "btn btn-small"} data-testid="open-features" onClick={() => setSide(side === "features" ? null : "features")}>
              {t("toolbar.features")}
            </button>
          ) : null}
          <button type="button" className={side === "versions" ? "btn btn-small active" : "btn btn-small"} data-testid="open-versions" onClick={() => setSide(side === "versions" ? null : "versions")}>
            {t("toolbar.versions")}
          </button>
          <button type="button" className={side === "checklist" ? "btn btn-small active" : "btn btn-small"} data-testid="open-checklist" onClick={() => setSide(side === "checklist" ? null : "checklist")}>
            {t("toolbar.checklist")} {issues.length ? <span className={errors ? "badge badge-red" : "badge"} data-testid="issue-count">{issues.length}</span> : null}
          </button>
          <button type="button" className="btn btn-small" data-testid="export" onClick={() => void exportApp()}>
            {t("toolbar.export")}
          </button>
          <button type="button" className={side === "run" ? "btn btn-small active" : "btn btn-small"} data-testid="open-run" onClick={() => setSide(side === "run" ? null : "run")}>
            ▶ {mode === "advanced-chat" ? t("toolbar.preview") : t("toolbar.run")}
          </button>
          <button type="button" className="btn btn-primary btn-small" data-testid="publish" onClick={() => setPublishing(true)}>
            {t("toolbar.publish")}
          </button>
        </header>
        {saveState === "conflict" ? (
          <div className="alert wf-banner" role="alert" data-testid="conflict">
            {t("save.conflictBody")}
            <button type="button" className="btn btn-small" data-testid="conflict-reload" onClick={() => void onReload()}>
              {t("save.reload")}
            </button>
            <button type="button" className="btn btn-small" data-testid="conflict-overwrite" onClick={() => void save(true).catch(() => undefined)}>
              {t("save.overwrite")}
            </button>
          </div>
        ) : null}
        {saveError ? (
          <div className="wf-banner">
            <ErrorBox error={saveError} />
          </div>
        ) : null}
        {warnings.length ? (
          <div className="notice wf-banner" data-testid="import-warnings">
            <strong>{t("importWarnings")}</strong>
            <ul>
              {warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                setWarnings([]);
                navigate(location.pathname, { replace: true, state: null });
              }}
            >
              {t("dismiss")}
            </button>
          </div>
        ) : null}
        {past ? (
          <div className="notice wf-banner" data-testid="past-run-banner">
            {t("pastRun.body")}
            <button type="button" className="btn btn-small" data-testid="past-run-close" onClick={() => setPast(null)}>
              {t("pastRun.back")}
            </button>
          </div>
        ) : null}
        {notice ? (
          <div className="wf-toast" role="status" data-testid="notice">
            {notice}
          </div>
        ) : null}
        <div className="wf-body">
          <Palette mode={mode} onAdd={(kind) => addNode(kind)} />
          <div className="wf-flow" onDragOver={(e) => (e.preventDefault(), (e.dataTransfer.dropEffect = "move"))} onDrop={onDrop}>
            <ReactFlow<FlowNode, FlowEdge>
              nodes={shownNodes}
              edges={shownEdges}
              nodeTypes={NODE_TYPES}
              edgeTypes={EDGE_TYPES}
              onNodesChange={past ? undefined : onNodesChange}
              onEdgesChange={past ? undefined : onEdgesChange}
              nodesDraggable={!past}
              nodesConnectable={!past}
              onConnect={onConnect}
              isValidConnection={isValidConnection}
              onBeforeDelete={onBeforeDelete}
              onDelete={() => {
                commit();
                if (selectedId && !latest.current.nodes.some((n) => n.id === selectedId)) setSelectedId(null);
              }}
              onNodeDragStop={() => commit({ coalesce: undefined })}
              onNodeClick={(_, node) => setSelectedId(node.id)}
              onPaneClick={() => setSelectedId(null)}
              fitView
              fitViewOptions={{ maxZoom: 1, padding: 0.15 }}
              minZoom={0.1}
              deleteKeyCode={["Backspace", "Delete"]}
              multiSelectionKeyCode={["Meta", "Control", "Shift"]}
              proOptions={{ hideAttribution: true }}
              defaultEdgeOptions={{ interactionWidth: 16 }}
            >
              <Background gap={16} />
              <MiniMap pannable zoomable ariaLabel={t("minimap")} />
              <Controls />
            </ReactFlow>
          </div>
          {selected ? (
            <NodePanel
              key={selected.id}
              node={selected}
              update={past ? () => undefined : (patch) => updateData(selected.id, patch)}
              ctx={{ mode, groups, models, datasets }}
              issues={issuesByNode.get(selected.id) ?? []}
              execution={run.nodes[selected.id]}
              onClose={() => setSelectedId(null)}
              onRunNode={(inputs) => runNode(selected.id, inputs)}
              onRerunFrom={run.runId && !runBusy ? () => void rerun(selected.id) : null}
            />
          ) : null}
          {side ? (
            <aside className="wf-side" data-testid={`side-${side}`}>
              <div className="row-between">
                <h3>{t(`side.${side}`)}</h3>
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.close")} onClick={() => setSide(null)}>
                  ✕
                </button>
              </div>
              {side === "run" ? (
                <RunPanel
                  mode={mode}
                  appId={app.id}
                  vars={startVars}
                  run={run}
                  busy={runBusy}
                  onRun={(inputs) => void startRun(inputs)}
                  onStop={stop}
                  onChat={chat}
                  onPick={setSelectedId}
                  onOpenRun={(id) => void openRun(id)}
                  refreshKey={historyKey}
                  openingStatement={String(features.opening_statement ?? "")}
                  suggestedQuestions={Array.isArray(features.suggested_questions) ? (features.suggested_questions as string[]).filter((q) => q.trim()) : []}
                  showCitations={Boolean((features.retriever_resource as { enabled?: boolean } | undefined)?.enabled)}
                />
              ) : side === "features" ? (
                <FeaturesPanel
                  features={features}
                  onChange={(next) => {
                    setFeatures(next);
                    commit({ history: false });
                  }}
                />
              ) : side === "checklist" ? (
                <Checklist issues={issues} nodes={nodes} onPick={setSelectedId} />
              ) : side === "versions" ? (
                <VersionsPanel appId={app.id} refreshKey={historyKey} onRestored={() => void onReload()} />
              ) : (
                <VariablesPanel
                  mode={mode}
                  env={env}
                  conversation={conversation}
                  onEnv={(rows) => {
                    setEnv(rows);
                    commit({ coalesce: "env" });
                  }}
                  onConversation={(rows) => {
                    setConversation(rows);
                    commit({ coalesce: "conversation" });
                  }}
                />
              )}
            </aside>
          ) : null}
        </div>
        {publishing ? (
          <PublishDialog
            issues={issues}
            nodes={nodes}
            onPick={(id) => {
              setPublishing(false);
              setSelectedId(id);
            }}
            onClose={() => setPublishing(false)}
            onPublish={async (name, comment) => {
              await flush();
              await calls.publish(app.id, name, comment);
              setHistoryKey((k) => k + 1);
              setNotice(t("notice.published"));
              setPublishing(false);
            }}
          />
        ) : null}
      </div>
      </EdgeActionsContext.Provider>
    </CanvasViewContext.Provider>
  );
}

function PublishDialog({
  issues,
  nodes,
  onPick,
  onClose,
  onPublish,
}: {
  issues: Issue[];
  nodes: FlowNode[];
  onPick: (id: string) => void;
  onClose: () => void;
  onPublish: (name: string, comment: string) => Promise<void>;
}) {
  const { t } = useTranslation("canvas");
  const [name, setName] = useState("");
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const blocking = issues.filter((i) => i.severity === "error");
  return (
    <Modal
      title={t("publish.title")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("publish.cancel")}
          </button>
          <button
            type="button"
            className="btn btn-primary"
            data-testid="publish-submit"
            disabled={busy || blocking.length > 0}
            onClick={() => {
              setBusy(true);
              onPublish(name, comment)
                .catch((e: unknown) => setError(e))
                .finally(() => setBusy(false));
            }}
          >
            {t("publish.submit")}
          </button>
        </>
      }
    >
      {issues.length ? <Checklist issues={issues} nodes={nodes} onPick={onPick} /> : null}
      {blocking.length ? <p className="field-error">{t("publish.blocked")}</p> : null}
      <div className="field">
        <label htmlFor="publish-name">{t("publish.name")}</label>
        <input id="publish-name" type="text" maxLength={20} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="publish-comment">{t("publish.comment")}</label>
        <textarea id="publish-comment" maxLength={100} value={comment} onChange={(e) => setComment(e.target.value)} />
      </div>
      <ErrorBox error={error} />
    </Modal>
  );
}

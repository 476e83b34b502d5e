/**
 * The draft graph in Dify's DSL shape, and the same graph as React Flow nodes and edges.
 *
 * Conversion keeps every field it does not understand (outer node fields are merged back from the
 * node as loaded), so a draft saved by the canvas differs from the loaded one only where the user
 * changed it.
 */
import type { Edge, Node } from "@xyflow/react";
import { CONTAINERS } from "./catalog";

export interface NodeData extends Record<string, unknown> {
  type: string;
  title: string;
}
export type FlowNode = Node<NodeData>;
export type FlowEdge = Edge<Record<string, unknown>>;

export interface DslNode {
  id: string;
  type?: string;
  data: Record<string, unknown>;
  position?: { x: number; y: number };
  parentId?: string;
  width?: number;
  height?: number;
  [key: string]: unknown;
}
export interface DslEdge {
  id?: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
  type?: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}
export interface DslGraph {
  nodes: DslNode[];
  edges: DslEdge[];
  viewport?: { x: number; y: number; zoom: number };
  [key: string]: unknown;
}

/** Outer node types React Flow draws; Dify's own names are kept as they are. */
export const NOTE_TYPE = "custom-note";
const SIZED = new Set([NOTE_TYPE]);

function isSized(node: DslNode): boolean {
  return SIZED.has(node.type ?? "") || CONTAINERS.has(String(node.data?.type ?? ""));
}

/** React Flow nodes and edges for a DSL graph. Parents come before their children, as React Flow needs. */
export function toFlow(graph: DslGraph): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const raw = Array.isArray(graph.nodes) ? graph.nodes : [];
  const ids = new Set(raw.map((n) => String(n.id)));
  const parentOf = (n: DslNode): string | undefined => {
    const data = n.data ?? {};
    const parent = n.parentId ?? (data.isInIteration ? data.iteration_id : undefined) ?? (data.isInLoop ? data.loop_id : undefined);
    return typeof parent === "string" && ids.has(parent) ? parent : undefined;
  };
  const nodes: FlowNode[] = raw.map((n) => {
    const data = { ...(n.data ?? {}) } as NodeData;
    data.type = String(data.type ?? "");
    data.title = String(data.title ?? "");
    const parentId = parentOf(n);
    const node: FlowNode = {
      id: String(n.id),
      type: n.type === NOTE_TYPE ? NOTE_TYPE : n.type === "custom-iteration-start" || n.type === "custom-loop-start" ? "custom-start" : "custom",
      position: { x: Number(n.position?.x ?? 0), y: Number(n.position?.y ?? 0) },
      data,
    };
    if (parentId) {
      node.parentId = parentId;
      node.extent = "parent";
    }
    if (isSized(n)) {
      node.width = Number(n.width ?? (n.type === NOTE_TYPE ? Number(data.width ?? 240) : 600));
      node.height = Number(n.height ?? (n.type === NOTE_TYPE ? Number(data.height ?? 120) : 260));
    }
    if (typeof n.zIndex === "number") node.zIndex = n.zIndex;
    return node;
  });
  const depth = (node: FlowNode): number => {
    let d = 0;
    let current = node.parentId;
    while (current && d < 10) {
      d += 1;
      current = nodes.find((n) => n.id === current)?.parentId;
    }
    return d;
  };
  nodes.sort((a, b) => depth(a) - depth(b));
  const edges: FlowEdge[] = (Array.isArray(graph.edges) ? graph.edges : [])
    .filter((e) => ids.has(String(e.source)) && ids.has(String(e.target)))
    .map((e) => ({
      id: String(e.id ?? `${e.source}-${e.sourceHandle ?? "source"}-${e.target}-target`),
      source: String(e.source),
      target: String(e.target),
      type: "custom",
      sourceHandle: e.sourceHandle ?? "source",
      targetHandle: e.targetHandle ?? "target",
      data: { ...(e.data ?? {}) },
    }));
  return { nodes, edges };
}

const OWN_NODE_KEYS = new Set(["id", "type", "data", "position", "positionAbsolute", "parentId", "extent", "width", "height", "selected", "measured", "dragging", "zIndex"]);

/** The DSL graph for React Flow's state; `previous` supplies the outer fields the canvas does not manage. */
export function toDsl(
  nodes: FlowNode[],
  edges: FlowEdge[],
  previous: Map<string, DslNode>,
  viewport?: { x: number; y: number; zoom: number },
): DslGraph {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const absolute = (node: FlowNode): { x: number; y: number } => {
    let { x, y } = node.position;
    let parent = node.parentId ? byId.get(node.parentId) : undefined;
    while (parent) {
      x += parent.position.x;
      y += parent.position.y;
      parent = parent.parentId ? byId.get(parent.parentId) : undefined;
    }
    return { x, y };
  };
  const dslNodes: DslNode[] = nodes.map((node) => {
    const old = previous.get(node.id);
    const extra: Record<string, unknown> = {};
    if (old) for (const [k, v] of Object.entries(old)) if (!OWN_NODE_KEYS.has(k)) extra[k] = v;
    const type = node.type === "custom-start" ? (old?.type ?? (node.data.type === "loop-start" ? "custom-loop-start" : "custom-iteration-start")) : (node.type ?? "custom");
    const width = node.width ?? node.measured?.width ?? old?.width ?? 244;
    const height = node.height ?? node.measured?.height ?? old?.height ?? 90;
    const out: DslNode = {
      ...extra,
      id: node.id,
      type,
      data: { ...node.data },
      position: { x: Math.round(node.position.x), y: Math.round(node.position.y) },
      positionAbsolute: absolute(node),
      width: Math.round(width),
      height: Math.round(height),
      selected: false,
    };
    if (!("sourcePosition" in extra)) out.sourcePosition = "right";
    if (!("targetPosition" in extra)) out.targetPosition = "left";
    if (node.parentId) {
      out.parentId = node.parentId;
      out.extent = "parent";
    }
    if (node.zIndex !== undefined) out.zIndex = node.zIndex;
    return out;
  });
  const dslEdges: DslEdge[] = edges.map((edge) => {
    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    const parent = source?.parentId ? byId.get(source.parentId) : undefined;
    const data: Record<string, unknown> = { ...(edge.data ?? {}), sourceType: source?.data.type ?? "", targetType: target?.data.type ?? "" };
    data.isInIteration = parent?.data.type === "iteration";
    if (parent?.data.type === "iteration") data.iteration_id = parent.id;
    if (parent?.data.type === "loop") {
      data.isInLoop = true;
      data.loop_id = parent.id;
    }
    return {
      id: edge.id,
      type: "custom",
      source: edge.source,
      sourceHandle: edge.sourceHandle ?? "source",
      target: edge.target,
      targetHandle: edge.targetHandle ?? "target",
      data,
      zIndex: parent ? 1002 : 0,
    };
  });
  return { nodes: dslNodes, edges: dslEdges, viewport: viewport ?? { x: 0, y: 0, zoom: 1 } };
}

export function edgeId(source: string, sourceHandle: string | null | undefined, target: string): string {
  return `${source}-${sourceHandle ?? "source"}-${target}-target`;
}

/** Node ids reachable from the start (at the top level) or from a container's start node (inside it). */
export function reachable(nodes: FlowNode[], edges: FlowEdge[]): Set<string> {
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const visit = (id: string) => {
    const stack = [id];
    while (stack.length) {
      const current = stack.pop() as string;
      if (seen.has(current)) continue;
      seen.add(current);
      for (const next of out.get(current) ?? []) stack.push(next);
    }
  };
  for (const n of nodes) if (n.data.type === "start" && !n.parentId) visit(n.id);
  // A container's children are reachable when the container is; they start at its start node.
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) {
      if (!n.parentId || seen.has(n.id) || !seen.has(n.parentId)) continue;
      const parent = nodes.find((p) => p.id === n.parentId);
      const declared = String(parent?.data.start_node_id ?? "");
      const isStart = n.id === declared || n.data.type === "iteration-start" || n.data.type === "loop-start";
      if (isStart) {
        visit(n.id);
        grew = true;
      }
    }
  }
  for (const n of nodes) if (n.data.type === "" || n.type === NOTE_TYPE) seen.add(n.id);
  return seen;
}

/**
 * A layered layout: each node's column is its longest distance from a root of its level (the top
 * level, or one container's children), nodes in a column are stacked; containers grow to fit.
 */
export function autoLayout(nodes: FlowNode[], edges: FlowEdge[]): FlowNode[] {
  const COL = 320;
  const ROW = 150;
  const result = new Map(nodes.map((n) => [n.id, { ...n, position: { ...n.position } }]));
  const levels = new Map<string, FlowNode[]>();
  for (const n of nodes) {
    if (n.type === NOTE_TYPE) continue;
    const key = n.parentId ?? "";
    levels.set(key, [...(levels.get(key) ?? []), n]);
  }
  // Children first, so container sizes are known when their level is laid out.
  const order = [...levels.keys()].sort((a, b) => (a === "" ? 1 : 0) - (b === "" ? 1 : 0));
  for (const key of order) {
    const members = levels.get(key) ?? [];
    const memberIds = new Set(members.map((m) => m.id));
    const incoming = new Map<string, string[]>();
    for (const e of edges) if (memberIds.has(e.source) && memberIds.has(e.target)) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
    const depth = new Map<string, number>();
    const depthOf = (id: string, trail: Set<string>): number => {
      const known = depth.get(id);
      if (known !== undefined) return known;
      if (trail.has(id)) return 0;
      trail.add(id);
      const parents = incoming.get(id) ?? [];
      const d = parents.length ? Math.max(...parents.map((p) => depthOf(p, trail) + 1)) : 0;
      trail.delete(id);
      depth.set(id, d);
      return d;
    };
    const columns = new Map<number, FlowNode[]>();
    for (const m of members) {
      const d = depthOf(m.id, new Set());
      columns.set(d, [...(columns.get(d) ?? []), m]);
    }
    const pad = key ? 40 : 80;
    const top = key ? 70 : 80;
    let maxX = 0;
    let maxY = 0;
    const colX: number[] = [];
    let x = pad;
    for (const d of [...columns.keys()].sort((a, b) => a - b)) {
      colX[d] = x;
      const widest = Math.max(...(columns.get(d) ?? []).map((m) => result.get(m.id)?.width ?? 244));
      x += Math.max(COL, widest + 76);
    }
    for (const [d, column] of columns) {
      let y = top;
      for (const m of column) {
        const node = result.get(m.id);
        if (!node) continue;
        node.position = { x: colX[d] ?? pad, y };
        const h = node.height ?? node.measured?.height ?? 90;
        const w = node.width ?? node.measured?.width ?? 244;
        y += Math.max(ROW, h + 50);
        maxX = Math.max(maxX, node.position.x + w);
        maxY = Math.max(maxY, node.position.y + h);
      }
    }
    if (key) {
      const container = result.get(key);
      if (container) {
        container.width = Math.max(container.width ?? 0, maxX + pad);
        container.height = Math.max(container.height ?? 0, maxY + pad);
      }
    }
  }
  return nodes.map((n) => result.get(n.id) ?? n);
}

/** What the clipboard holds: selected nodes (with their containers' children) and the edges between them. */
export interface ClipboardContent {
  kind: "loomworks-canvas";
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export function copySelection(nodes: FlowNode[], edges: FlowEdge[], selected: Set<string>): ClipboardContent {
  const ids = new Set(selected);
  for (const n of nodes) if (n.parentId && ids.has(n.parentId)) ids.add(n.id);
  const picked = nodes.filter((n) => ids.has(n.id) && n.data.type !== "start");
  const pickedIds = new Set(picked.map((n) => n.id));
  return {
    kind: "loomworks-canvas",
    nodes: picked.map((n) => ({ ...n, selected: false, data: structuredClone(n.data) })),
    edges: edges.filter((e) => pickedIds.has(e.source) && pickedIds.has(e.target)),
  };
}

/**
 * Nodes and edges to add for a paste: new ids everywhere (references to pasted nodes inside the data
 * are rewritten too), shifted by `offset`; children whose container was not copied land at the top level.
 */
export function pasteContent(content: ClipboardContent, makeId: () => string, offset = 40): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const isInnerStart = (n: FlowNode) => n.data.type === "iteration-start" || n.data.type === "loop-start";
  const map = new Map<string, string>();
  for (const n of content.nodes) if (!isInnerStart(n)) map.set(n.id, makeId());
  // Dify names a container's start node after the container.
  for (const n of content.nodes) if (isInnerStart(n)) map.set(n.id, `${(n.parentId && map.get(n.parentId)) || makeId()}start`);
  const rewrite = (value: unknown): unknown => {
    if (typeof value === "string") {
      if (map.has(value)) return map.get(value);
      return value.replace(/\{\{#([a-zA-Z0-9_]+)\./g, (whole, id: string) => (map.has(id) ? `{{#${map.get(id)}.` : whole));
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    return value;
  };
  const nodes: FlowNode[] = content.nodes.map((n) => {
    const parentId = n.parentId ? map.get(n.parentId) : undefined;
    const node: FlowNode = {
      ...n,
      id: map.get(n.id) ?? n.id,
      selected: true,
      data: rewrite(n.data) as FlowNode["data"],
      position: parentId ? n.position : { x: n.position.x + offset, y: n.position.y + offset },
    };
    if (parentId) {
      node.parentId = parentId;
      node.extent = "parent";
    } else {
      delete node.parentId;
      delete node.extent;
    }
    return node;
  });
  const edges: FlowEdge[] = content.edges.map((e) => {
    const source = map.get(e.source) ?? e.source;
    const target = map.get(e.target) ?? e.target;
    return { ...e, id: edgeId(source, e.sourceHandle, target), source, target, selected: false };
  });
  return { nodes, edges };
}

/**
 * The edges after a node is inserted on `edge`: the edge is replaced by source → inserted (on the
 * edge's source handle) and inserted → target (from the inserted node's first source handle).
 */
export function splitEdge(edges: FlowEdge[], edge: FlowEdge, insertedId: string, insertedHandle: string | null): FlowEdge[] {
  const rest = edges.filter((e) => e.id !== edge.id);
  const handle = edge.sourceHandle ?? "source";
  const added: FlowEdge[] = [{ id: edgeId(edge.source, handle, insertedId), type: "custom", source: edge.source, sourceHandle: handle, target: insertedId, targetHandle: "target", data: {} }];
  if (insertedHandle !== null) {
    added.push({ id: edgeId(insertedId, insertedHandle, edge.target), type: "custom", source: insertedId, sourceHandle: insertedHandle, target: edge.target, targetHandle: edge.targetHandle ?? "target", data: {} });
  }
  return [...rest, ...added];
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k, v]) => v !== undefined && k !== "selected");
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Whether a stored graph (a past run's) has the same nodes, node fields and connections as the canvas. */
export function sameGraph(graph: DslGraph, nodes: FlowNode[], edges: FlowEdge[]): boolean {
  const stored = toFlow(graph);
  if (stored.nodes.length !== nodes.length || stored.edges.length !== edges.length) return false;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of stored.nodes) {
    const current = byId.get(n.id);
    if (!current || stable(current.data) !== stable(n.data)) return false;
  }
  const key = (e: FlowEdge) => `${e.source}|${e.sourceHandle ?? "source"}|${e.target}`;
  const have = new Set(edges.map(key));
  return stored.edges.every((e) => have.has(key(e)));
}

/** `data` with `patch` applied; keys set to `undefined` are removed. */
export function patchData<T extends Record<string, unknown>>(data: T, patch: Record<string, unknown>): T {
  const next: Record<string, unknown> = { ...data, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete next[k];
  return next as T;
}

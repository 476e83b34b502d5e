import { describe, expect, it } from "vitest";
import { sourceHandles } from "../catalog";
import { autoLayout, copySelection, pasteContent, reachable, toDsl, toFlow, type DslGraph } from "../graph";
import { History } from "../history";

const graph: DslGraph = {
  nodes: [
    { id: "s", type: "custom", data: { type: "start", title: "Start", variables: [] }, position: { x: 0, y: 0 }, width: 244, height: 90, sourcePosition: "right", custom_field: 7 },
    { id: "it", type: "custom", data: { type: "iteration", title: "Iter", start_node_id: "itstart" }, position: { x: 300, y: 0 }, width: 500, height: 220 },
    { id: "itstart", type: "custom-iteration-start", parentId: "it", data: { type: "iteration-start", title: "", isInIteration: true }, position: { x: 20, y: 60 } },
    { id: "inner", type: "custom", parentId: "it", data: { type: "code", title: "Inner", isInIteration: true, iteration_id: "it" }, position: { x: 120, y: 60 } },
    { id: "e", type: "custom", data: { type: "end", title: "End", outputs: [] }, position: { x: 900, y: 0 } },
    { id: "lost", type: "custom", data: { type: "llm", title: "Lost" }, position: { x: 0, y: 400 } },
    { id: "n", type: "custom-note", data: { type: "", text: "hello", width: 200, height: 100 }, position: { x: 0, y: 600 }, width: 200, height: 100 },
  ],
  edges: [
    { id: "a", source: "s", sourceHandle: "source", target: "it", targetHandle: "target", type: "custom", data: {} },
    { id: "b", source: "itstart", sourceHandle: "source", target: "inner", targetHandle: "target", type: "custom", data: {} },
    { id: "c", source: "it", sourceHandle: "source", target: "e", targetHandle: "target", type: "custom", data: {} },
    { id: "dangling", source: "s", target: "deleted-node" },
  ],
  viewport: { x: 0, y: 0, zoom: 1 },
};

describe("DSL graph <-> React Flow", () => {
  it("keeps unknown fields, parents and container sizes across a round trip", () => {
    const flow = toFlow(graph);
    expect(flow.edges.map((e) => e.id)).toEqual(["a", "b", "c"]);
    const inner = flow.nodes.find((n) => n.id === "inner");
    expect(inner?.parentId).toBe("it");
    expect(flow.nodes.findIndex((n) => n.id === "it")).toBeLessThan(flow.nodes.findIndex((n) => n.id === "inner"));
    expect(flow.nodes.find((n) => n.id === "itstart")?.type).toBe("custom-start");
    // Plain nodes are measured by the browser; containers and notes keep their size.
    expect(flow.nodes.find((n) => n.id === "s")?.width).toBeUndefined();
    expect(flow.nodes.find((n) => n.id === "it")?.width).toBe(500);
    const back = toDsl(flow.nodes, flow.edges, new Map(graph.nodes.map((n) => [n.id, n])));
    const start = back.nodes.find((n) => n.id === "s");
    expect(start?.custom_field).toBe(7);
    expect(back.nodes.find((n) => n.id === "itstart")?.type).toBe("custom-iteration-start");
    expect(back.nodes.find((n) => n.id === "inner")?.positionAbsolute).toEqual({ x: 420, y: 60 });
    const innerEdge = back.edges.find((e) => e.id === "b");
    expect(innerEdge?.data).toMatchObject({ isInIteration: true, iteration_id: "it", sourceType: "iteration-start", targetType: "code" });
    expect(back.edges.every((e) => e.type === "custom")).toBe(true);
  });

  it("finds nodes unreachable from the start, entering containers through their start node", () => {
    const flow = toFlow(graph);
    const seen = reachable(flow.nodes, flow.edges);
    expect([...seen].sort()).toEqual(["e", "inner", "it", "itstart", "n", "s"]);
    expect(seen.has("lost")).toBe(false);
  });

  it("lays out by depth and grows containers around their children", () => {
    const flow = toFlow(graph);
    const laid = autoLayout(flow.nodes, flow.edges);
    const x = (id: string) => laid.find((n) => n.id === id)?.position.x ?? -1;
    expect(x("s")).toBeLessThan(x("it"));
    expect(x("it")).toBeLessThan(x("e"));
    expect(x("itstart")).toBeLessThan(x("inner"));
    const container = laid.find((n) => n.id === "it");
    const inner = laid.find((n) => n.id === "inner");
    expect((container?.width ?? 0) >= (inner?.position.x ?? 0) + 244).toBe(true);
  });

  it("pastes with new ids, rewriting references and container start ids", () => {
    const flow = toFlow(graph);
    flow.nodes.find((n) => n.id === "inner")!.data.code_ref = "{{#itstart.item#}} and {{#s.q#}}";
    const clip = copySelection(flow.nodes, flow.edges, new Set(["it", "s"]));
    // The start node is never copied; the container brings its children.
    expect(clip.nodes.map((n) => n.id).sort()).toEqual(["inner", "it", "itstart"]);
    let i = 0;
    const pasted = pasteContent(JSON.parse(JSON.stringify(clip)), () => `new${++i}`);
    const ids = pasted.nodes.map((n) => n.id);
    expect(ids).toContain("new1start");
    const container = pasted.nodes.find((n) => n.data.type === "iteration");
    expect(container?.data.start_node_id).toBe(`${container?.id}start`);
    const inner = pasted.nodes.find((n) => n.data.type === "code");
    expect(inner?.parentId).toBe(container?.id);
    expect(inner?.data.iteration_id).toBe(container?.id);
    expect(inner?.data.code_ref).toBe("{{#new1start.item#}} and {{#s.q#}}");
    expect(pasted.edges).toHaveLength(1);
    expect(pasted.edges[0]?.source).toBe(`${container?.id}start`);
    expect(container?.position).toEqual({ x: 340, y: 40 });
  });
});

describe("handles", () => {
  it("gives if-else one handle per case plus ELSE, classifiers one per class, and fail branches", () => {
    expect(sourceHandles({ type: "if-else", cases: [{ case_id: "true" }, { case_id: "abc" }] }).map((h) => h.id)).toEqual(["true", "abc", "false"]);
    expect(sourceHandles({ type: "question-classifier", classes: [{ id: "1", name: "A" }, { id: "2", name: "B" }] }).map((h) => h.label)).toEqual(["A", "B"]);
    expect(sourceHandles({ type: "llm", error_strategy: "fail-branch" }).map((h) => h.id)).toEqual(["success-branch", "fail-branch"]);
    expect(sourceHandles({ type: "end" })).toEqual([]);
  });
});

describe("undo history", () => {
  it("undoes and redoes, and a new step drops the redo branch", () => {
    const h = new History(1);
    h.push(2);
    h.push(3);
    expect(h.undo()).toBe(2);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBeNull();
    expect(h.redo()).toBe(2);
    h.push(9);
    expect(h.canRedo).toBe(false);
    h.replace(10);
    expect(h.undo()).toBe(2);
  });
});

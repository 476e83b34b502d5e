import { describe, expect, it } from "vitest";
import { toFlow, type DslGraph } from "../graph";
import { highlight } from "../panels/fields";
import { applyEvent, fromRecords, IDLE_RUN } from "../run";
import { checkGraph, referencedSelectors, upstreamVariables } from "../variables";

const chatflow: DslGraph = {
  nodes: [
    { id: "start", type: "custom", data: { type: "start", title: "Start", variables: [{ variable: "topic", type: "text-input", label: "Topic", required: true }] } },
    { id: "llm", type: "custom", data: { type: "llm", title: "LLM", model: { provider: "openai", name: "gpt-4o-mini" }, prompt_template: [{ role: "system", text: "About {{#start.topic#}}" }] } },
    { id: "if", type: "custom", data: { type: "if-else", title: "IF", cases: [{ case_id: "true", logical_operator: "and", conditions: [{ variable_selector: ["llm", "text"], comparison_operator: "contains", value: "x" }] }] } },
    { id: "a1", type: "custom", data: { type: "answer", title: "A1", answer: "{{#llm.text#}}" } },
    { id: "a2", type: "custom", data: { type: "answer", title: "A2", answer: "{{#a1.nothing#}} {{#sys.query#}}" } },
    { id: "orphan", type: "custom", data: { type: "code", title: "Orphan", code: "", variables: [] } },
  ],
  edges: [
    { source: "start", target: "llm" },
    { source: "llm", target: "if" },
    { source: "if", sourceHandle: "true", target: "a1" },
    { source: "if", sourceHandle: "false", target: "a2" },
  ],
};

describe("variables upstream", () => {
  it("offers only the outputs of nodes upstream, with types, then sys and env", () => {
    const { nodes, edges } = toFlow(chatflow);
    const groups = upstreamVariables("a1", nodes, edges, "advanced-chat", [{ name: "KEY", value: "", value_type: "secret" }]);
    expect(groups.map((g) => g.nodeId)).toEqual(["if", "llm", "start", "sys", "env"].filter((id) => id !== "if"));
    const llm = groups.find((g) => g.nodeId === "llm");
    expect(llm?.vars).toContainEqual({ selector: ["llm", "text"], type: "string" });
    expect(groups.find((g) => g.nodeId === "start")?.vars).toEqual([{ selector: ["start", "topic"], type: "string" }]);
    expect(groups.find((g) => g.nodeId === "sys")?.vars.map((v) => v.selector[1])).toContain("query");
    expect(upstreamVariables("start", nodes, edges, "workflow").map((g) => g.nodeId)).toEqual(["sys"]);
  });

  it("reads references from selectors and templates", () => {
    expect(referencedSelectors(chatflow.nodes[2]!.data)).toEqual([["llm", "text"]]);
    expect(referencedSelectors({ answer: "{{#a.b#}} {{#context#}} {{#x.y.z#}}", variables: [{ variable: "v", value_selector: ["n", "o"] }] })).toEqual([
      ["a", "b"],
      ["x", "y", "z"],
      ["n", "o"],
    ]);
  });

  it("lists missing fields, unknown references and unreachable nodes", () => {
    const { nodes, edges } = toFlow(chatflow);
    const issues = checkGraph(nodes, edges, "advanced-chat");
    const codes = issues.map((i) => `${i.nodeId}:${i.code}:${i.detail ?? ""}`);
    expect(codes).toContain("a2:unknownVariable:{{#a1.nothing#}}");
    expect(codes).toContain("orphan:missing:code");
    expect(codes).toContain("orphan:unreachable:");
    expect(codes.filter((c) => c.startsWith("llm") || c.startsWith("if") || c.startsWith("a1"))).toEqual([]);
    expect(checkGraph(nodes, edges, "workflow").map((i) => i.code)).toContain("needEnd");
  });
});

describe("run state", () => {
  it("folds the event stream into node states, text and outputs", () => {
    let s = applyEvent(IDLE_RUN, { event: "workflow_started", task_id: "t1", workflow_run_id: "r1", data: { id: "r1" } });
    s = applyEvent(s, { event: "node_started", data: { id: "x1", node_id: "llm", node_type: "llm", title: "LLM" } });
    expect(s.nodes.llm?.status).toBe("running");
    s = applyEvent(s, { event: "node_finished", data: { id: "x1", node_id: "llm", status: "succeeded", outputs: { text: "hi" }, elapsed_time: 0.5, execution_metadata: { total_tokens: 12 } } });
    s = applyEvent(s, { event: "message", answer: "Hel" });
    s = applyEvent(s, { event: "message", answer: "lo" });
    s = applyEvent(s, { event: "workflow_finished", data: { status: "succeeded", outputs: { answer: "Hello" }, elapsed_time: 1, total_tokens: 12 } });
    expect(s).toMatchObject({ runId: "r1", taskId: "t1", status: "succeeded", text: "Hello", totalTokens: 12, order: ["llm"] });
    expect(s.nodes.llm?.outputs).toEqual({ text: "hi" });
    expect(applyEvent(s, { event: "error", message: "boom" }).status).toBe("failed");
  });

  it("opens a past run from its records", () => {
    const s = fromRecords({ id: "r2", status: "failed", error: "bad" }, [
      { id: "2", index: 2, node_id: "b", node_type: "code", title: "B", status: "failed", inputs: null, process_data: null, outputs: null, error: "bad", elapsed_time: 0.1, execution_metadata: null },
      { id: "1", index: 1, node_id: "a", node_type: "start", title: "A", status: "succeeded", inputs: {}, process_data: null, outputs: {}, error: null, elapsed_time: 0, execution_metadata: null },
    ]);
    expect(s.order).toEqual(["a", "b"]);
    expect(s.nodes.b?.status).toBe("failed");
  });
});

describe("code highlighter", () => {
  it("marks keywords, strings, comments and numbers and loses no text", () => {
    const code = 'def main(x):\n    # note\n    return {"a": 1}\n';
    const tokens = highlight(code, "python3");
    expect(tokens.map((t) => t.text).join("")).toBe(code);
    expect(tokens.filter((t) => t.kind === "keyword").map((t) => t.text)).toEqual(["def", "return"]);
    expect(tokens.find((t) => t.kind === "comment")?.text).toBe("# note");
    expect(tokens.find((t) => t.kind === "string")?.text).toBe('"a"');
    expect(highlight("const a = `x`; // c", "javascript").map((t) => t.kind)).toContain("comment");
  });
});

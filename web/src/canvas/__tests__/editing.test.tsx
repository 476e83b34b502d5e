import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FeaturesPanel, type Features } from "../FeaturesPanel";
import { patchData, sameGraph, splitEdge, toDsl, toFlow, type DslGraph } from "../graph";
import { NodePanel } from "../panels";
import { upstreamVariables, type ConversationVariable } from "../variables";

const graph: DslGraph = {
  nodes: [
    { id: "start", data: { type: "start", title: "Start", variables: [{ variable: "topic", type: "text-input" }, { variable: "docs", type: "file-list" }] } },
    { id: "llm", data: { type: "llm", title: "Writer" } },
    { id: "ex", data: { type: "parameter-extractor", title: "Extract", model: { provider: "", name: "" }, query: [], parameters: [], instruction: "", reasoning_mode: "prompt" } },
    { id: "as", data: { type: "assigner", title: "Assign", version: "2", items: [{ variable_selector: ["conversation", "count"], input_type: "variable", operation: "over-write", value: [] }] } },
    { id: "lo", data: { type: "list-operator", title: "List", variable: [], filter_by: { enabled: false, conditions: [] } } },
    { id: "tool", data: { type: "tool", title: "Tool", provider_type: "builtin", provider_id: "", tool_name: "", tool_parameters: {}, tool_configurations: {} } },
    { id: "raw", data: { type: "mystery", title: "Odd", keep: 1, drop: 2 } },
    { id: "end", data: { type: "end", title: "End", outputs: [] } },
  ],
  edges: [
    { source: "start", target: "llm" },
    { source: "llm", target: "ex" },
    { source: "ex", target: "as" },
    { source: "as", target: "lo" },
    { source: "lo", target: "tool" },
    { source: "tool", target: "raw" },
    { source: "raw", target: "end" },
  ],
};
const flow = toFlow(graph);
const conversation: ConversationVariable[] = [{ name: "count", value: 0, value_type: "number" }, { name: "notes", value: [], value_type: "array[string]" }];

function panelFor(id: string, mode: "workflow" | "advanced-chat" = "workflow") {
  const update = vi.fn();
  const node = flow.nodes.find((n) => n.id === id)!;
  render(
    <NodePanel
      node={node}
      update={update}
      ctx={{ mode, groups: upstreamVariables(id, flow.nodes, flow.edges, mode, [], conversation), models: [], datasets: [] }}
      issues={[]}
      execution={undefined}
      onClose={() => undefined}
      onRunNode={() => Promise.reject(new Error("not here"))}
      onRerunFrom={null}
    />,
  );
  return update;
}

afterEach(() => vi.unstubAllGlobals());

describe("graph edits", () => {
  it("splits an edge around an inserted node, keeping the source's branch handle", () => {
    const edges = toFlow({
      nodes: [{ id: "a", data: { type: "if-else" } }, { id: "b", data: { type: "end" } }, { id: "c", data: { type: "end" } }],
      edges: [
        { source: "a", sourceHandle: "true", target: "b" },
        { source: "a", sourceHandle: "false", target: "c" },
      ],
    }).edges;
    const split = splitEdge(edges, edges[0]!, "n", "source");
    expect(split.map((e) => `${e.source}:${e.sourceHandle}->${e.target}`).sort()).toEqual(["a:false->c", "a:true->n", "n:source->b"]);
    // A node without outputs (an End) only takes the incoming half.
    expect(splitEdge(edges, edges[0]!, "n", null).map((e) => e.target).sort()).toEqual(["c", "n"]);
  });

  it("tells whether a past run's graph is the canvas's", () => {
    const saved = toDsl(flow.nodes, flow.edges, new Map());
    expect(sameGraph(saved, flow.nodes, flow.edges)).toBe(true);
    const renamed = flow.nodes.map((n) => (n.id === "llm" ? { ...n, data: { ...n.data, title: "Other" } } : n));
    expect(sameGraph(saved, renamed, flow.edges)).toBe(false);
    expect(sameGraph(saved, flow.nodes, flow.edges.slice(1))).toBe(false);
  });

  it("removes keys patched to undefined", () => {
    expect(patchData({ type: "x", title: "t", a: 1, b: 2 }, { a: undefined, c: 3 })).toEqual({ type: "x", title: "t", b: 2, c: 3 });
  });
});

describe("dedicated panels", () => {
  it("JSON fallback deletes the keys taken out", () => {
    const update = panelFor("raw");
    const editor = screen.getByTestId("json-fields") as HTMLTextAreaElement;
    expect(JSON.parse(editor.value)).toEqual({ keep: 1, drop: 2 });
    fireEvent.change(editor, { target: { value: '{"keep": 5}' } });
    expect(update).toHaveBeenCalledWith({ keep: 5, drop: undefined });
  });

  it("parameter extractor: string query only, typed parameters, reasoning mode", () => {
    const update = panelFor("ex");
    const query = screen.getByTestId("extractor-query") as HTMLSelectElement;
    const options = [...query.querySelectorAll("option")].map((o) => o.value);
    expect(options).toContain("llm.text");
    expect(options).not.toContain("start.docs");
    fireEvent.click(screen.getByTestId("extractor-add"));
    expect(update).toHaveBeenLastCalledWith({ parameters: [{ name: "", type: "string", description: "", required: false }] });
    fireEvent.change(screen.getByTestId("reasoning-mode"), { target: { value: "function_call" } });
    expect(update).toHaveBeenLastCalledWith({ reasoning_mode: "function_call" });
  });

  it("assigner writes only conversation variables, with the operations of their type", () => {
    const update = panelFor("as", "advanced-chat");
    const target = screen.getByTestId("assigner-target") as HTMLSelectElement;
    expect([...target.querySelectorAll("option")].map((o) => o.value).filter(Boolean)).toEqual(["conversation.count", "conversation.notes"]);
    const ops = [...(screen.getByTestId("assigner-operation") as HTMLSelectElement).querySelectorAll("option")].map((o) => o.value);
    expect(ops).toContain("+=");
    fireEvent.change(screen.getByTestId("assigner-operation"), { target: { value: "+=" } });
    expect(update).toHaveBeenLastCalledWith({ version: "2", items: [{ variable_selector: ["conversation", "count"], input_type: "constant", operation: "+=", value: 0 }] });
  });

  it("list operator accepts array variables only", () => {
    const update = panelFor("lo");
    const picker = screen.getByTestId("list-variable") as HTMLSelectElement;
    const values = [...picker.querySelectorAll("option")].map((o) => o.value).filter(Boolean);
    expect(values).toContain("start.docs");
    expect(values).not.toContain("start.topic");
    fireEvent.change(picker, { target: { value: "start.docs" } });
    expect(update).toHaveBeenCalledWith({ variable: ["start", "docs"], var_type: "array[file]", item_var_type: "file" });
  });

  it("tool panel lists the workspace's tools and builds the parameter form from the picked tool", async () => {
    const providers = [
      {
        id: "time",
        name: "time",
        type: "builtin",
        label: { en_US: "Time" },
        tools: [
          {
            name: "convert",
            label: { en_US: "Convert time" },
            parameters: [
              { name: "when", type: "string", form: "llm", required: true, label: { en_US: "When" } },
              { name: "zone", type: "select", form: "form", default: "UTC", options: [{ value: "UTC" }, { value: "Asia/Shanghai" }] },
            ],
          },
        ],
      },
    ];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => new Response(JSON.stringify(String(url).endsWith("/builtin") ? providers : []), { status: 200, headers: { "Content-Type": "application/json" } })),
    );
    const node = flow.nodes.find((n) => n.id === "tool")!;
    function Harness() {
      const [data, setData] = useState(node.data);
      return (
        <NodePanel
          node={{ ...node, data }}
          update={(patch) => setData((d) => ({ ...d, ...patch }))}
          ctx={{ mode: "workflow", groups: upstreamVariables("tool", flow.nodes, flow.edges, "workflow"), models: [], datasets: [] }}
          issues={[]}
          execution={undefined}
          onClose={() => undefined}
          onRunNode={() => Promise.reject(new Error("not here"))}
          onRerunFrom={null}
        />
      );
    }
    render(<Harness />);
    const select = (await waitFor(() => {
      const el = screen.getByTestId("tool-select") as HTMLSelectElement;
      expect(el.querySelectorAll("option").length).toBe(2);
      return el;
    })) as HTMLSelectElement;
    fireEvent.change(select, { target: { value: "builtin\u0000time\u0000convert" } });
    expect(screen.getByTestId("tool-param-when")).toBeTruthy();
    expect(screen.getByTestId("tool-setting-zone")).toBeTruthy();
    expect((screen.getByTestId("node-title") as HTMLInputElement).value).toBe("Convert time");
    fireEvent.change(screen.getByTestId("tool-input-when"), { target: { value: "{{#llm.text#}}" } });
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("features", () => {
  it("edits the opener, suggested questions and switches with Dify's keys", () => {
    let last: Features = {};
    function Harness() {
      const [features, setFeatures] = useState<Features>({ opening_statement: "", suggested_questions: [], file_upload: { enabled: false } });
      return (
        <FeaturesPanel
          features={features}
          onChange={(f) => {
            last = f;
            setFeatures(f);
          }}
        />
      );
    }
    render(<Harness />);
    fireEvent.change(screen.getByTestId("feature-opening"), { target: { value: "Hello!" } });
    fireEvent.click(screen.getByTestId("feature-add-question"));
    fireEvent.change(screen.getByTestId("feature-question"), { target: { value: "What is a river?" } });
    fireEvent.click(screen.getByTestId("feature-citations"));
    fireEvent.click(screen.getByTestId("feature-file-upload"));
    fireEvent.click(screen.getByTestId("feature-file-type-document"));
    expect(last.opening_statement).toBe("Hello!");
    expect(last.suggested_questions).toEqual(["What is a river?"]);
    expect(last.retriever_resource).toEqual({ enabled: true });
    expect(last.file_upload).toMatchObject({ enabled: true, allowed_file_types: ["image", "document"], image: { enabled: true } });
  });
});

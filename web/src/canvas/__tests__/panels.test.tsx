import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { toFlow } from "../graph";
import { NodePanel } from "../panels";
import { upstreamVariables } from "../variables";

const { nodes, edges } = toFlow({
  nodes: [
    { id: "start", data: { type: "start", title: "Start", variables: [{ variable: "topic", type: "text-input" }] } },
    { id: "llm", data: { type: "llm", title: "Writer" } },
    { id: "end", data: { type: "end", title: "End", outputs: [{ variable: "out", value_selector: [] }] } },
    { id: "side", data: { type: "code", title: "Sideways", outputs: { x: { type: "string" } } } },
    { id: "tool", data: { type: "plugin-thing", title: "Clock", provider_id: "time", tool_name: "now" } },
  ],
  edges: [
    { source: "start", target: "llm" },
    { source: "llm", target: "end" },
  ],
});

function panelFor(id: string, update = vi.fn()) {
  const node = nodes.find((n) => n.id === id)!;
  render(
    <NodePanel
      node={node}
      update={update}
      ctx={{ mode: "workflow", groups: upstreamVariables(id, nodes, edges, "workflow"), models: [], datasets: [] }}
      issues={[]}
      execution={undefined}
      onClose={() => undefined}
      onRunNode={() => Promise.reject(new Error("not here"))}
      onRerunFrom={null}
    />,
  );
  return update;
}

describe("node panels", () => {
  it("offers only upstream variables, with their types, and writes the chosen selector", () => {
    const update = panelFor("end");
    const picker = screen.getByTestId("var-picker") as HTMLSelectElement;
    const labels = [...picker.querySelectorAll("option")].map((o) => o.textContent);
    expect(labels).toContain("Writer.text · string");
    expect(labels).toContain("Start.topic · string");
    expect(labels.some((l) => l?.startsWith("Sideways"))).toBe(false);
    fireEvent.change(picker, { target: { value: "llm.text" } });
    expect(update).toHaveBeenCalledWith({ outputs: [{ variable: "out", value_selector: ["llm", "text"] }] });
  });

  it("falls back to a JSON editor for node types without a form", () => {
    const update = panelFor("tool");
    const editor = screen.getByTestId("json-fields") as HTMLTextAreaElement;
    expect(JSON.parse(editor.value)).toEqual({ provider_id: "time", tool_name: "now" });
    fireEvent.change(editor, { target: { value: '{"provider_id": "time", "tool_name": "later"' } });
    expect(update).not.toHaveBeenCalled();
    expect(screen.getByText(/Not valid JSON/)).toBeTruthy();
    fireEvent.change(editor, { target: { value: '{"provider_id": "time", "tool_name": "later"}' } });
    expect(update).toHaveBeenCalledWith({ provider_id: "time", tool_name: "later" });
  });
});

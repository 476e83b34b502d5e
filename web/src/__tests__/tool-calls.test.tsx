import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mergeThought, ToolCalls, toolCalls } from "../components/ToolCalls";

describe("toolCalls", () => {
  it("splits a step's tools and picks each one's input and observation", () => {
    const calls = toolCalls([
      { id: "t1", tool: "add;lookup", tool_input: '{"add": {"a": 2, "b": 3}, "lookup": {"city": "Paris"}}', observation: '{"add": "5", "lookup": "clear"}' },
      { id: "t2", thought: "no tool this time", tool: "", tool_input: "" },
    ]);
    expect(calls).toEqual([
      { key: "t1/add", tool: "add", input: '{"a":2,"b":3}', output: "5" },
      { key: "t1/lookup", tool: "lookup", input: '{"city":"Paris"}', output: "clear" },
    ]);
  });

  it("keeps a call without an observation yet as running, and text that is not JSON as it is", () => {
    expect(toolCalls([{ id: "t1", tool: "search", tool_input: "rivers", observation: "" }])).toEqual([
      { key: "t1/search", tool: "search", input: "rivers", output: null },
    ]);
  });

  it("merges the same thought streamed again", () => {
    const started = mergeThought([], { id: "t1", tool: "add", tool_input: '{"add": {}}', observation: "" });
    const done = mergeThought(started, { id: "t1", observation: '{"add": "5"}' });
    expect(done).toHaveLength(1);
    expect(toolCalls(done)[0]?.output).toBe("5");
    expect(mergeThought(done, { id: "t2", tool: "lookup" })).toHaveLength(2);
  });
});

describe("ToolCalls", () => {
  it("shows each call folded, with its input and output once opened", () => {
    render(<ToolCalls thoughts={[{ id: "t1", tool: "add", tool_input: '{"add": {"a": 2}}', observation: '{"add": "5"}' }]} />);
    const call = screen.getByTestId("tool-call");
    expect(call.getAttribute("data-tool")).toBe("add");
    expect(call.hasAttribute("open")).toBe(false);
    expect(call.querySelector("summary")?.textContent).toBe("Tool: add");
    fireEvent.click(screen.getByText("add"));
    expect(screen.getByTestId("tool-call-input").textContent).toBe('{"a":2}');
    expect(screen.getByTestId("tool-call-output").textContent).toBe("5");
  });

  it("renders nothing for thoughts without tools", () => {
    const { container } = render(<ToolCalls thoughts={[{ id: "t1", thought: "thinking" }]} />);
    expect(container.innerHTML).toBe("");
  });
});

import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { PromptEditor } from "../components/PromptEditor";
import { promptVariables, splitPrompt } from "../lib/prompt";

describe("splitPrompt", () => {
  it("splits variables out and joins back to the same text", () => {
    const text = "Hi {{name}}, about {{ topic }} and {{name}} again {{1bad}} {single}";
    const parts = splitPrompt(text);
    expect(parts.map((p) => p.text).join("")).toBe(text);
    expect(parts.filter((p) => p.variable).map((p) => p.variable)).toEqual(["name", "topic", "name"]);
    expect(promptVariables(text)).toEqual(["name", "topic"]);
  });

  it("keeps text without variables whole", () => {
    expect(splitPrompt("plain")).toEqual([{ text: "plain" }]);
    expect(splitPrompt("")).toEqual([]);
  });
});

describe("PromptEditor", () => {
  it("marks known and unknown variables differently", () => {
    const { getByTestId } = render(<PromptEditor value="Use {{known}} and {{other}}." known={["known"]} onChange={() => undefined} />);
    const mirror = getByTestId("prompt-mirror");
    expect(mirror.querySelector('[data-variable="known"]')?.className).toBe("prompt-var");
    expect(mirror.querySelector('[data-variable="other"]')?.className).toBe("prompt-var prompt-var-unknown");
    expect(mirror.textContent).toContain("Use {{known}} and {{other}}.");
  });
});

import { fireEvent, render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ParameterForm } from "../components/ParameterForm";
import { clampNumber, keepKnown, localized, requiredDefaults, type ParameterRule } from "../lib/params";

const rules: ParameterRule[] = [
  { name: "temperature", label: { en_US: "Temperature", zh_Hans: "温度" }, type: "float", default: 0.7, min: 0, max: 2, precision: 1 },
  { name: "max_tokens", label: { en_US: "Max Tokens" }, type: "int", default: 512, min: 1, max: 4096, required: true },
  { name: "response_format", type: "string", options: ["text", "json_object"] },
  { name: "stream_usage", type: "boolean" },
];

describe("parameter rules", () => {
  it("clamps and rounds numbers to the rule", () => {
    expect(clampNumber(rules[0]!, 3.14159)).toBe(2);
    expect(clampNumber(rules[0]!, 0.6666)).toBe(0.7);
    expect(clampNumber(rules[1]!, 0)).toBe(1);
    expect(clampNumber(rules[1]!, 99.6)).toBe(100);
  });

  it("fills required rules and drops unknown params", () => {
    expect(requiredDefaults(rules)).toEqual({ max_tokens: 512 });
    expect(keepKnown({ temperature: 1, top_k: 3 }, rules)).toEqual({ temperature: 1 });
    expect(localized({ en_US: "A", zh_Hans: "甲" }, "zh-Hans")).toBe("甲");
    expect(localized({ en_US: "A" }, "zh-Hans")).toBe("A");
  });
});

describe("ParameterForm", () => {
  it("renders one control per rule and turns parameters on with their defaults", () => {
    let value: Record<string, unknown> = { max_tokens: 512 };
    const { container, getByLabelText, rerender } = render(
      <ParameterForm rules={rules} value={value} onChange={(v) => (value = v)} />,
    );
    expect(container.querySelectorAll("[data-param]")).toHaveLength(4);
    expect(container.querySelector('[data-param="response_format"] select')).not.toBeNull();
    expect(container.querySelector('[data-param="temperature"] input[type="range"]')).not.toBeNull();
    // Required rules cannot be switched off; optional ones start off (disabled controls).
    expect((getByLabelText("Use Max Tokens") as HTMLInputElement).disabled).toBe(true);
    expect((container.querySelector("#param-temperature") as HTMLInputElement).disabled).toBe(true);

    fireEvent.click(getByLabelText("Use Temperature"));
    expect(value).toEqual({ max_tokens: 512, temperature: 0.7 });
    rerender(<ParameterForm rules={rules} value={value} onChange={(v) => (value = v)} />);
    fireEvent.change(container.querySelector("#param-temperature")!, { target: { value: "5" } });
    expect(value.temperature).toBe(2);
  });
});

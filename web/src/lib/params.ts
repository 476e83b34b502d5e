/** Model parameter rules (Dify's `parameter_rules`) and the `completion_params` they produce. */
export type I18nText = Record<string, string | undefined>;

export interface ParameterRule {
  name: string;
  label?: I18nText;
  help?: I18nText;
  type: "float" | "int" | "string" | "boolean" | "text" | string;
  default?: unknown;
  min?: number;
  max?: number;
  precision?: number;
  required?: boolean;
  options?: string[];
}

/** Text in the UI language, falling back to English, then to whatever the object holds. */
export function localized(text: I18nText | string | undefined | null, language: string): string {
  if (!text) return "";
  if (typeof text === "string") return text;
  const key = language === "zh-Hans" ? "zh_Hans" : "en_US";
  return text[key] ?? text.en_US ?? Object.values(text).find((v) => typeof v === "string") ?? "";
}

/** The value a rule starts with when the user turns it on. */
export function initialValue(rule: ParameterRule): unknown {
  if (rule.default !== undefined && rule.default !== null) return rule.default;
  switch (rule.type) {
    case "float":
    case "int":
      return rule.min ?? 0;
    case "boolean":
      return false;
    case "string":
      return rule.options?.[0] ?? "";
    default:
      return "";
  }
}

/** Keep a number inside the rule's range and precision (ints are rounded). */
export function clampNumber(rule: ParameterRule, raw: number): number {
  let value = Number.isFinite(raw) ? raw : Number(initialValue(rule));
  if (rule.min !== undefined) value = Math.max(rule.min, value);
  if (rule.max !== undefined) value = Math.min(rule.max, value);
  const digits = rule.type === "int" ? 0 : (rule.precision ?? 2);
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Required rules, filled with their defaults: what a new model selection starts with. */
export function requiredDefaults(rules: ParameterRule[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const rule of rules) if (rule.required) params[rule.name] = initialValue(rule);
  return params;
}

/** Drop params the new model has no rule for (switching models must not send stale keys). */
export function keepKnown(params: Record<string, unknown>, rules: ParameterRule[]): Record<string, unknown> {
  const names = new Set(rules.map((r) => r.name));
  return Object.fromEntries(Object.entries(params).filter(([key]) => names.has(key)));
}

/** `{{variable}}` references in a prompt, for the highlighting editor and the variables panel. */
export interface PromptPart {
  text: string;
  /** The variable name when this part is a `{{name}}` reference. */
  variable?: string;
}

const REFERENCE = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]{0,29})\s*\}\}/g;

/** Split `text` into plain parts and `{{variable}}` parts, in order; joining them gives `text` back. */
export function splitPrompt(text: string): PromptPart[] {
  const parts: PromptPart[] = [];
  let last = 0;
  for (const match of text.matchAll(REFERENCE)) {
    const start = match.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: match[0], variable: match[1] ?? "" });
    last = start + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The distinct variable names referenced in `text`, in first-use order. */
export function promptVariables(text: string): string[] {
  const seen: string[] = [];
  for (const part of splitPrompt(text)) {
    if (part.variable && !seen.includes(part.variable)) seen.push(part.variable);
  }
  return seen;
}

export const VARIABLE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,29}$/;

/**
 * Variables a node can read: the outputs of the nodes upstream of it (through edges, and for nodes
 * inside an iteration or loop also the container's own upstream and its `item`/`index`), plus
 * `sys.*`, `env.*` and `conversation.*`. Also the checklist run before publishing.
 */
import type { FlowMode } from "./catalog";
import { CONTAINERS } from "./catalog";
import { NOTE_TYPE, reachable, type FlowEdge, type FlowNode } from "./graph";

export interface VarInfo {
  selector: string[];
  type: string;
}
export interface VarGroup {
  nodeId: string;
  title: string;
  kind: string;
  vars: VarInfo[];
}
export interface EnvVariable {
  id?: string;
  name: string;
  value: unknown;
  value_type: string;
  description?: string;
}
export interface ConversationVariable extends EnvVariable {
  selector?: string[];
}

const START_TYPES: Record<string, string> = {
  "text-input": "string",
  paragraph: "string",
  select: "string",
  number: "number",
  checkbox: "boolean",
  file: "file",
  "file-list": "array[file]",
  json_object: "object",
};

function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** The variables a node writes, with their types. */
export function nodeOutputs(node: FlowNode, mode: FlowMode): VarInfo[] {
  const d = node.data;
  const id = node.id;
  const v = (name: string, type: string): VarInfo => ({ selector: [id, name], type });
  let out: VarInfo[] = [];
  switch (d.type) {
    case "start":
      out = list<{ variable: string; type: string }>(d.variables).map((x) => v(x.variable, START_TYPES[x.type] ?? "string"));
      break;
    case "llm":
      out = [v("text", "string"), v("reasoning_content", "string"), v("usage", "object")];
      if (d.structured_output_enabled) out.push(v("structured_output", "object"));
      break;
    case "knowledge-retrieval":
      out = [v("result", "array[object]")];
      break;
    case "question-classifier":
      out = [v("class_name", "string")];
      break;
    case "parameter-extractor":
      out = [...list<{ name: string; type: string }>(d.parameters).map((p) => v(p.name, p.type === "bool" ? "boolean" : p.type === "select" ? "string" : p.type)), v("__is_success", "number"), v("__reason", "string")];
      break;
    case "code":
      out = Object.entries((d.outputs as Record<string, { type?: string }> | undefined) ?? {}).map(([name, spec]) => v(name, spec?.type ?? "string"));
      break;
    case "template-transform":
      out = [v("output", "string")];
      break;
    case "variable-aggregator":
    case "variable-assigner": {
      const advanced = d.advanced_settings as { group_enabled?: boolean; groups?: { group_name: string; output_type: string }[] } | undefined;
      out = advanced?.group_enabled ? list<{ group_name: string; output_type: string }>(advanced.groups).map((g) => ({ selector: [id, g.group_name, "output"], type: g.output_type })) : [v("output", String(d.output_type ?? "string"))];
      break;
    }
    case "iteration":
      out = [v("output", "array[string]")];
      break;
    case "loop":
      out = list<{ label: string; var_type: string }>(d.loop_variables).map((x) => v(x.label, x.var_type));
      break;
    case "http-request":
      out = [v("body", "string"), v("status_code", "number"), v("headers", "object"), v("files", "array[file]")];
      break;
    case "tool":
    case "agent":
      out = [v("text", "string"), v("files", "array[file]"), v("json", "array[object]")];
      break;
    case "document-extractor":
      out = [v("text", d.is_array_file ? "array[string]" : "string")];
      break;
    case "list-operator":
      out = [v("result", "array[object]"), v("first_record", "object"), v("last_record", "object")];
      break;
    default:
      out = [];
  }
  if (d.error_strategy === "fail-branch" || d.error_strategy === "default-value") out.push(v("error_message", "string"), v("error_type", "string"));
  void mode;
  return out;
}

export function systemVariables(mode: FlowMode): VarInfo[] {
  const names: [string, string][] = [
    ["user_id", "string"],
    ["files", "array[file]"],
    ["app_id", "string"],
    ["workflow_id", "string"],
    ["workflow_run_id", "string"],
  ];
  if (mode === "advanced-chat") names.unshift(["query", "string"], ["conversation_id", "string"], ["dialogue_count", "number"]);
  return names.map(([name, type]) => ({ selector: ["sys", name], type }));
}

/** Ids of the nodes from which `nodeId` can be reached along edges (same level only). */
export function ancestors(nodeId: string, edges: FlowEdge[]): Set<string> {
  const incoming = new Map<string, string[]>();
  for (const e of edges) incoming.set(e.target, [...(incoming.get(e.target) ?? []), e.source]);
  const seen = new Set<string>();
  const stack = [...(incoming.get(nodeId) ?? [])];
  while (stack.length) {
    const id = stack.pop() as string;
    if (seen.has(id) || id === nodeId) continue;
    seen.add(id);
    stack.push(...(incoming.get(id) ?? []));
  }
  return seen;
}

/** The variables `nodeId` may read, grouped by the node that writes them, nearest level first. */
export function upstreamVariables(
  nodeId: string,
  nodes: FlowNode[],
  edges: FlowEdge[],
  mode: FlowMode,
  env: EnvVariable[] = [],
  conversation: ConversationVariable[] = [],
): VarGroup[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const groups: VarGroup[] = [];
  let current = byId.get(nodeId);
  const seen = new Set<string>();
  while (current) {
    for (const id of ancestors(current.id, edges)) {
      const node = byId.get(id);
      if (!node || seen.has(id)) continue;
      seen.add(id);
      const vars = nodeOutputs(node, mode);
      if (vars.length) groups.push({ nodeId: id, title: node.data.title || node.data.type, kind: node.data.type, vars });
    }
    const parent = current.parentId ? byId.get(current.parentId) : undefined;
    if (parent && CONTAINERS.has(parent.data.type)) {
      const own: VarInfo[] =
        parent.data.type === "iteration"
          ? [
              { selector: [parent.id, "item"], type: "string" },
              { selector: [parent.id, "index"], type: "number" },
            ]
          : list<{ label: string; var_type: string }>(parent.data.loop_variables).map((x) => ({ selector: [parent.id, x.label], type: x.var_type }));
      groups.push({ nodeId: parent.id, title: parent.data.title || parent.data.type, kind: parent.data.type, vars: own });
    }
    current = parent;
  }
  groups.push({ nodeId: "sys", title: "SYSTEM", kind: "sys", vars: systemVariables(mode) });
  if (env.length) groups.push({ nodeId: "env", title: "ENVIRONMENT", kind: "env", vars: env.map((e) => ({ selector: ["env", e.name], type: e.value_type === "secret" ? "string" : e.value_type })) });
  if (mode === "advanced-chat" && conversation.length) groups.push({ nodeId: "conversation", title: "CONVERSATION", kind: "conversation", vars: conversation.map((c) => ({ selector: ["conversation", c.name], type: c.value_type })) });
  return groups;
}

const TEMPLATE = /\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}/g;
const SELECTOR_KEYS = new Set(["value_selector", "variable_selector", "query_variable_selector", "iterator_selector", "output_selector", "query", "variable", "assigned_variable_selector", "input_variable_selector"]);

/** Every variable the node's data refers to: selectors under the known keys, and `{{#a.b#}}` in text. */
export function referencedSelectors(data: Record<string, unknown>): string[][] {
  const found = new Map<string, string[]>();
  const add = (selector: string[]) => {
    if (selector.length >= 2 && selector.every((s) => typeof s === "string" && s)) found.set(selector.join("."), selector);
  };
  const walk = (value: unknown, key: string) => {
    if (typeof value === "string") {
      for (const m of value.matchAll(TEMPLATE)) {
        const parts = (m[1] ?? "").split(".");
        if (parts[0] !== "context" && parts[0] !== "histories") add(parts);
      }
    } else if (Array.isArray(value)) {
      if (SELECTOR_KEYS.has(key) && value.every((x) => typeof x === "string")) add(value as string[]);
      else if (key === "variables" && value.every((x) => Array.isArray(x))) for (const s of value) add(s as string[]);
      else for (const item of value) walk(item, key);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(data, "");
  return [...found.values()];
}

export interface Issue {
  nodeId: string | null;
  severity: "error" | "warning";
  code: string;
  /** Translation values: the field, the variable and so on. */
  detail?: string;
}

function emptySelector(value: unknown): boolean {
  return !Array.isArray(value) || value.length < 2;
}

function missingFields(node: FlowNode): string[] {
  const d = node.data;
  const missing: string[] = [];
  const model = d.model as { provider?: string; name?: string } | undefined;
  switch (d.type) {
    case "llm":
      if (!model?.provider || !model.name) missing.push("model");
      {
        const prompts = Array.isArray(d.prompt_template) ? (d.prompt_template as { text?: string }[]) : [(d.prompt_template ?? {}) as { text?: string }];
        if (!prompts.some((p) => String(p.text ?? "").trim())) missing.push("prompt");
      }
      break;
    case "question-classifier":
      if (!model?.provider || !model.name) missing.push("model");
      if (emptySelector(d.query_variable_selector)) missing.push("query_variable_selector");
      if (!list(d.classes).length) missing.push("classes");
      break;
    case "parameter-extractor":
      if (!model?.provider || !model.name) missing.push("model");
      if (emptySelector(d.query)) missing.push("query");
      if (!list(d.parameters).length || list<{ name?: string }>(d.parameters).some((p) => !p.name)) missing.push("parameters");
      break;
    case "knowledge-retrieval":
      if (emptySelector(d.query_variable_selector)) missing.push("query_variable_selector");
      if (!list(d.dataset_ids).length) missing.push("dataset_ids");
      break;
    case "if-else":
      for (const c of list<{ conditions?: { variable_selector?: unknown; comparison_operator?: string }[] }>(d.cases)) {
        if (!(c.conditions ?? []).length) missing.push("conditions");
        else if ((c.conditions ?? []).some((x) => emptySelector(x.variable_selector) || !x.comparison_operator)) missing.push("conditions");
      }
      break;
    case "code":
      if (!String(d.code ?? "").trim()) missing.push("code");
      if (list<{ variable?: string; value_selector?: unknown }>(d.variables).some((x) => !x.variable || emptySelector(x.value_selector))) missing.push("variables");
      break;
    case "template-transform":
      if (!String(d.template ?? "").trim()) missing.push("template");
      if (list<{ variable?: string; value_selector?: unknown }>(d.variables).some((x) => !x.variable || emptySelector(x.value_selector))) missing.push("variables");
      break;
    case "http-request":
      if (!String(d.url ?? "").trim()) missing.push("url");
      break;
    case "answer":
      if (!String(d.answer ?? "").trim()) missing.push("answer");
      break;
    case "end":
      if (list<{ variable?: string; value_selector?: unknown }>(d.outputs).some((x) => !x.variable || emptySelector(x.value_selector))) missing.push("outputs");
      break;
    case "variable-aggregator":
      if (!list(d.variables).length && !(d.advanced_settings as { group_enabled?: boolean } | undefined)?.group_enabled) missing.push("variables");
      break;
    case "iteration":
      if (emptySelector(d.iterator_selector)) missing.push("iterator_selector");
      if (emptySelector(d.output_selector)) missing.push("output_selector");
      break;
    case "document-extractor":
      if (emptySelector(d.variable_selector)) missing.push("variable_selector");
      break;
    case "list-operator":
      if (emptySelector(d.variable)) missing.push("variable");
      break;
    case "tool":
      if (!d.provider_id && !d.provider_name) missing.push("tool");
      break;
    case "agent": {
      if (!d.agent_strategy_name) missing.push("strategy");
      const selector = ((d.agent_parameters as Record<string, { value?: { provider?: string; model?: string } }> | undefined) ?? {}).model?.value;
      if (!selector?.provider || !selector.model) missing.push("model");
      break;
    }
    case "assigner":
      if (list<{ variable_selector?: unknown }>(d.items).some((x) => emptySelector(x.variable_selector))) missing.push("items");
      break;
  }
  return [...new Set(missing)];
}

/** The checklist: missing fields, references to variables that are not upstream, type mismatches, unreachable nodes. */
export function checkGraph(
  nodes: FlowNode[],
  edges: FlowEdge[],
  mode: FlowMode,
  env: EnvVariable[] = [],
  conversation: ConversationVariable[] = [],
): Issue[] {
  const issues: Issue[] = [];
  const real = nodes.filter((n) => n.type !== NOTE_TYPE && n.data.type !== "");
  const starts = real.filter((n) => n.data.type === "start" && !n.parentId);
  if (starts.length !== 1) issues.push({ nodeId: null, severity: "error", code: "oneStart", detail: String(starts.length) });
  const terminal = mode === "workflow" ? "end" : "answer";
  if (!real.some((n) => n.data.type === terminal)) issues.push({ nodeId: null, severity: "error", code: mode === "workflow" ? "needEnd" : "needAnswer" });
  const seen = reachable(nodes, edges);
  for (const node of real) {
    if (node.data.type === "iteration-start" || node.data.type === "loop-start") continue;
    for (const field of missingFields(node)) issues.push({ nodeId: node.id, severity: "error", code: "missing", detail: field });
    if (!seen.has(node.id)) issues.push({ nodeId: node.id, severity: "warning", code: "unreachable" });
    const available = new Map<string, string>();
    for (const g of upstreamVariables(node.id, nodes, edges, mode, env, conversation)) for (const v of g.vars) available.set(v.selector.join("."), v.type);
    for (const selector of referencedSelectors(node.data)) {
      const key = selector.join(".");
      const root = selector[0] ?? "";
      const known = available.has(key) || [...available.keys()].some((k) => key.startsWith(`${k}.`));
      // sys.* names beyond the known ones and references into objects are left to the engine.
      if (!known && root !== "sys") issues.push({ nodeId: node.id, severity: "error", code: "unknownVariable", detail: `{{#${key}#}}` });
    }
    if (node.data.type === "iteration" && !emptySelector(node.data.iterator_selector)) {
      const type = available.get((node.data.iterator_selector as string[]).join("."));
      if (type && !type.startsWith("array")) issues.push({ nodeId: node.id, severity: "error", code: "typeMismatch", detail: `iterator_selector: ${type}` });
    }
    if (node.data.type === "document-extractor" && !emptySelector(node.data.variable_selector)) {
      const type = available.get((node.data.variable_selector as string[]).join("."));
      if (type && type !== "file" && type !== "array[file]") issues.push({ nodeId: node.id, severity: "error", code: "typeMismatch", detail: `variable_selector: ${type}` });
    }
  }
  return issues;
}

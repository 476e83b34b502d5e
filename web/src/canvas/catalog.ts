/**
 * The node types the canvas offers, grouped as Dify's palette groups them, with the `data` a new node
 * starts with, the source handles it has and the variables it outputs (for the variable picker).
 */
export type NodeKind =
  | "start"
  | "end"
  | "answer"
  | "llm"
  | "knowledge-retrieval"
  | "question-classifier"
  | "parameter-extractor"
  | "if-else"
  | "iteration"
  | "loop"
  | "code"
  | "template-transform"
  | "variable-aggregator"
  | "assigner"
  | "list-operator"
  | "document-extractor"
  | "http-request"
  | "tool"
  | "agent"
  | "note";

export type FlowMode = "workflow" | "advanced-chat";

export interface PaletteGroup {
  id: "flow" | "model" | "logic" | "transform" | "note";
  kinds: NodeKind[];
}

export const PALETTE: PaletteGroup[] = [
  { id: "flow", kinds: ["start", "end", "answer"] },
  { id: "model", kinds: ["llm", "knowledge-retrieval", "question-classifier", "parameter-extractor"] },
  { id: "logic", kinds: ["if-else", "iteration", "loop"] },
  {
    id: "transform",
    kinds: [
      "code",
      "template-transform",
      "variable-aggregator",
      "assigner",
      "list-operator",
      "document-extractor",
      "http-request",
      "tool",
      "agent",
    ],
  },
  { id: "note", kinds: ["note"] },
];

/** Which kinds a mode offers: End is for workflows, Answer for chatflows. */
export function kindsFor(mode: FlowMode): (kind: NodeKind) => boolean {
  return (kind) => !(mode === "workflow" && kind === "answer") && !(mode === "advanced-chat" && kind === "end");
}

export const ICONS: Record<string, string> = {
  start: "▶",
  end: "■",
  answer: "A",
  llm: "✦",
  "knowledge-retrieval": "K",
  "question-classifier": "Q",
  "parameter-extractor": "⇲",
  "if-else": "◇",
  iteration: "↻",
  "iteration-start": "▸",
  loop: "∞",
  "loop-start": "▸",
  "loop-end": "⏹",
  code: "{ }",
  "template-transform": "T",
  "variable-aggregator": "⊕",
  "variable-assigner": "⊕",
  assigner: "=",
  "list-operator": "☰",
  "document-extractor": "D",
  "http-request": "⇄",
  tool: "⚒",
  agent: "@",
  note: "✎",
};

export const MODEL_DEFAULT = { provider: "", name: "", mode: "chat", completion_params: { temperature: 0.7 } };

let counter = 0;
/** Dify-style node ids: a millisecond timestamp, made unique within this page. */
export function newNodeId(): string {
  counter = (counter + 1) % 1000;
  return `${Date.now()}${String(counter).padStart(3, "0")}`;
}

export function newCaseId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto ? crypto.randomUUID() : `case-${newNodeId()}`;
}

/** The `data` of a new node of `kind` (titles are filled in by the caller, translated). */
export function defaultData(kind: NodeKind, mode: FlowMode): Record<string, unknown> {
  const memory = mode === "advanced-chat" ? { window: { enabled: false, size: 10 }, query_prompt_template: "{{#sys.query#}}" } : undefined;
  switch (kind) {
    case "start":
      return { variables: [] };
    case "end":
      return { outputs: [] };
    case "answer":
      return { answer: "", variables: [] };
    case "llm":
      return {
        model: { ...MODEL_DEFAULT },
        prompt_template: [{ role: "system", text: "" }],
        ...(memory ? { memory } : {}),
        context: { enabled: false, variable_selector: [] },
        vision: { enabled: false },
        variables: [],
      };
    case "knowledge-retrieval":
      return {
        query_variable_selector: mode === "advanced-chat" ? ["sys", "query"] : [],
        dataset_ids: [],
        retrieval_mode: "multiple",
        multiple_retrieval_config: { top_k: 4, score_threshold: null, reranking_enable: false },
      };
    case "question-classifier":
      return {
        query_variable_selector: mode === "advanced-chat" ? ["sys", "query"] : [],
        model: { ...MODEL_DEFAULT },
        classes: [
          { id: "1", name: "" },
          { id: "2", name: "" },
        ],
        instruction: "",
      };
    case "parameter-extractor":
      return { model: { ...MODEL_DEFAULT }, query: [], parameters: [], instruction: "", reasoning_mode: "prompt" };
    case "if-else":
      return { cases: [{ case_id: "true", logical_operator: "and", conditions: [] }] };
    case "iteration":
      return { iterator_selector: [], output_selector: [], is_parallel: false, parallel_nums: 10, error_handle_mode: "terminated", start_node_id: "" };
    case "loop":
      return { loop_count: 10, break_conditions: [], logical_operator: "and", loop_variables: [], start_node_id: "" };
    case "code":
      return {
        code_language: "python3",
        code: 'def main(arg1: str) -> dict:\n    return {"result": arg1}\n',
        variables: [{ variable: "arg1", value_selector: [] }],
        outputs: { result: { type: "string", children: null } },
      };
    case "template-transform":
      return { template: "{{ arg1 }}", variables: [{ variable: "arg1", value_selector: [] }] };
    case "variable-aggregator":
      return { output_type: "string", variables: [] };
    case "assigner":
      return { version: "2", items: [] };
    case "list-operator":
      return {
        variable: [],
        filter_by: { enabled: false, conditions: [] },
        order_by: { enabled: false, key: "", value: "asc" },
        limit: { enabled: false, size: 10 },
      };
    case "document-extractor":
      return { variable_selector: [], is_array_file: false };
    case "http-request":
      return {
        method: "get",
        url: "",
        authorization: { type: "no-auth", config: null },
        headers: "",
        params: "",
        body: { type: "none", data: [] },
        timeout: { max_connect_timeout: 0, max_read_timeout: 0, max_write_timeout: 0 },
      };
    case "tool":
      return { provider_id: "", provider_type: "builtin", provider_name: "", tool_name: "", tool_label: "", tool_configurations: {}, tool_parameters: {} };
    case "agent":
      return {
        agent_strategy_provider_name: "langgenius/agent/agent",
        agent_strategy_name: "function_calling",
        agent_strategy_label: "FunctionCalling",
        agent_parameters: {
          instruction: { type: "mixed", value: "" },
          query: { type: "mixed", value: mode === "advanced-chat" ? "{{#sys.query#}}" : "" },
          maximum_iterations: { type: "constant", value: 3 },
          tools: { type: "constant", value: [] },
        },
      };
    case "note":
      return { text: "", theme: "yellow", author: "", showAuthor: true, width: 240, height: 120 };
  }
}

/** The kinds whose node sits on the canvas as a container of child nodes. */
export const CONTAINERS = new Set(["iteration", "loop"]);
/** Kinds that may take Dify's error strategy (and so the fail-branch handle). */
export const ERROR_STRATEGY_KINDS = new Set(["llm", "code", "tool", "http-request", "agent", "knowledge-retrieval"]);

export interface HandleSpec {
  id: string;
  /** Shown beside the handle: a case label, a class name, or nothing for the plain `source`. */
  label: string;
}

/** The source handles of a node, in the order they are drawn (if-else cases then ELSE, classes, fail branch). */
export function sourceHandles(data: Record<string, unknown>): HandleSpec[] {
  const kind = String(data.type ?? "");
  if (kind === "end" || kind === "" || kind === "loop-end") return [];
  let own: HandleSpec[] = [{ id: "source", label: "" }];
  if (kind === "if-else") {
    const cases = Array.isArray(data.cases) ? (data.cases as { case_id?: string }[]) : [{ case_id: "true" }];
    own = cases.map((c, i) => ({ id: String(c.case_id ?? "true"), label: i === 0 ? "IF" : `ELIF ${i}` }));
    own.push({ id: "false", label: "ELSE" });
  } else if (kind === "question-classifier") {
    const classes = Array.isArray(data.classes) ? (data.classes as { id?: string; name?: string }[]) : [];
    own = classes.map((c, i) => ({ id: String(c.id ?? i + 1), label: c.name || `CLASS ${i + 1}` }));
  }
  if (data.error_strategy === "fail-branch") {
    if (kind !== "if-else" && kind !== "question-classifier") own = [{ id: "success-branch", label: "" }];
    own.push({ id: "fail-branch", label: "FAIL" });
  }
  return own;
}

export function hasTarget(kind: string): boolean {
  return kind !== "start" && kind !== "" && kind !== "iteration-start" && kind !== "loop-start";
}

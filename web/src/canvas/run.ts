/**
 * The state of one run as the canvas shows it, folded from the run's events (live SSE) or from the
 * recorded node executions of a past run.
 */
import type { StreamEvent } from "../lib/sse";

export type NodeStatus = "running" | "succeeded" | "failed" | "exception" | "stopped" | "retry";

export interface NodeExecution {
  id: string;
  node_id: string;
  node_type: string;
  title: string;
  status: NodeStatus;
  inputs: Record<string, unknown> | null;
  process_data: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  error: string | null;
  elapsed_time: number | null;
  execution_metadata: Record<string, unknown> | null;
  index?: number;
}

export interface RunState {
  runId: string | null;
  taskId: string | null;
  status: "idle" | "running" | "succeeded" | "failed" | "stopped" | "partial-succeeded";
  /** The latest execution of each node (an iteration's inner nodes run many times). */
  nodes: Record<string, NodeExecution>;
  order: string[];
  outputs: Record<string, unknown> | null;
  error: string | null;
  elapsed: number | null;
  totalTokens: number | null;
  /** Streamed text: End outputs (workflow) or the answer (chatflow). */
  text: string;
  conversationId: string | null;
  messageId: string | null;
}

export const IDLE_RUN: RunState = {
  runId: null,
  taskId: null,
  status: "idle",
  nodes: {},
  order: [],
  outputs: null,
  error: null,
  elapsed: null,
  totalTokens: null,
  text: "",
  conversationId: null,
  messageId: null,
};

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function execution(data: Record<string, unknown>, status: NodeStatus): NodeExecution {
  return {
    id: String(data.id ?? ""),
    node_id: String(data.node_id ?? ""),
    node_type: String(data.node_type ?? ""),
    title: String(data.title ?? ""),
    status,
    inputs: (data.inputs as Record<string, unknown> | null) ?? null,
    process_data: (data.process_data as Record<string, unknown> | null) ?? null,
    outputs: (data.outputs as Record<string, unknown> | null) ?? null,
    error: (data.error as string | null) ?? null,
    elapsed_time: typeof data.elapsed_time === "number" ? data.elapsed_time : null,
    execution_metadata: (data.execution_metadata as Record<string, unknown> | null) ?? null,
    index: typeof data.index === "number" ? data.index : undefined,
  };
}

function withNode(state: RunState, node: NodeExecution): RunState {
  const order = state.order.includes(node.node_id) ? state.order : [...state.order, node.node_id];
  return { ...state, order, nodes: { ...state.nodes, [node.node_id]: node } };
}

/** Fold one stream event into the run state. */
export function applyEvent(state: RunState, event: StreamEvent): RunState {
  const data = record(event.data);
  const base: RunState = {
    ...state,
    taskId: (event.task_id as string | undefined) ?? state.taskId,
    runId: (event.workflow_run_id as string | undefined) ?? state.runId,
    conversationId: (event.conversation_id as string | undefined) ?? state.conversationId,
    messageId: (event.message_id as string | undefined) ?? state.messageId,
  };
  switch (event.event) {
    case "workflow_started":
      return { ...base, status: "running", runId: String(data.id ?? base.runId ?? "") };
    case "node_started":
    case "iteration_started":
    case "loop_started":
      return withNode(base, { ...execution(data, "running"), outputs: null });
    case "node_retry":
      return withNode(base, execution(data, "retry"));
    case "node_finished":
    case "iteration_completed":
    case "loop_completed": {
      const status = String(data.status ?? "succeeded") as NodeStatus;
      return withNode(base, execution(data, status));
    }
    case "text_chunk":
      return { ...base, text: base.text + String(data.text ?? "") };
    case "text_replace":
      return { ...base, text: String(data.text ?? "") };
    case "message":
    case "agent_message":
      return { ...base, text: base.text + String(event.answer ?? "") };
    case "message_replace":
      return { ...base, text: String(event.answer ?? "") };
    case "workflow_finished":
      return {
        ...base,
        status: String(data.status ?? "succeeded") as RunState["status"],
        outputs: (data.outputs as Record<string, unknown> | null) ?? null,
        error: (data.error as string | null) ?? null,
        elapsed: typeof data.elapsed_time === "number" ? data.elapsed_time : null,
        totalTokens: typeof data.total_tokens === "number" ? data.total_tokens : null,
      };
    case "error":
      return { ...base, status: "failed", error: String(event.message ?? "error") };
    default:
      return base;
  }
}

/** A past run: its summary and its recorded node executions. */
export function fromRecords(run: Record<string, unknown>, executions: NodeExecution[]): RunState {
  let state: RunState = {
    ...IDLE_RUN,
    runId: String(run.id ?? ""),
    status: String(run.status ?? "succeeded") as RunState["status"],
    outputs: (run.outputs as Record<string, unknown> | null) ?? null,
    error: (run.error as string | null) ?? null,
    elapsed: typeof run.elapsed_time === "number" ? run.elapsed_time : null,
    totalTokens: typeof run.total_tokens === "number" ? run.total_tokens : null,
  };
  for (const e of [...executions].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))) state = withNode(state, e);
  return state;
}

export function tokensOf(node: NodeExecution): number | null {
  const value = node.execution_metadata?.total_tokens;
  return typeof value === "number" ? value : null;
}

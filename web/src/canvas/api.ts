/** The console calls the canvas makes (Dify's workflow paths). */
import { api, apiRaw } from "../api/client";
import { readEvents, type StreamEvent } from "../lib/sse";
import type { DslGraph } from "./graph";
import type { NodeExecution } from "./run";
import type { ConversationVariable, EnvVariable } from "./variables";

export interface Draft {
  id: string;
  graph: DslGraph;
  features: Record<string, unknown>;
  hash: string;
  environment_variables: EnvVariable[];
  conversation_variables: ConversationVariable[];
  updated_at: number | null;
}

export interface Version {
  id: string;
  version: string;
  marked_name: string;
  marked_comment: string;
  created_at: number;
  created_by: { name: string } | null;
}

export interface RunSummary {
  id: string;
  status: string;
  elapsed_time: number | null;
  total_tokens: number | null;
  total_steps: number | null;
  created_at: number;
  error: string | null;
}

export function loadDraft(appId: string): Promise<Draft> {
  return api<Draft>("get", "/console/api/apps/{app_id}/workflows/draft", { path: { app_id: appId } });
}

export function saveDraft(appId: string, draft: Omit<Draft, "id" | "updated_at">): Promise<{ hash: string; updated_at: number }> {
  return api<{ hash: string; updated_at: number }>("post", "/console/api/apps/{app_id}/workflows/draft", {
    path: { app_id: appId },
    body: draft,
  });
}

export function publish(appId: string, name: string, comment: string): Promise<{ id: string; created_at: number }> {
  return api<{ id: string; created_at: number }>("post", "/console/api/apps/{app_id}/workflows/publish", {
    path: { app_id: appId },
    body: { marked_name: name, marked_comment: comment },
  });
}

export function listVersions(appId: string): Promise<{ items: Version[]; has_more: boolean }> {
  return api<{ items: Version[]; has_more: boolean }>("get", "/console/api/apps/{app_id}/workflows", {
    path: { app_id: appId },
    query: { page: 1, limit: 50 },
  });
}

export function restoreVersion(appId: string, workflowId: string): Promise<{ hash: string }> {
  return api<{ hash: string }>("post", "/console/api/apps/{app_id}/workflows/{workflow_id}/restore", {
    path: { app_id: appId, workflow_id: workflowId },
  });
}

export function listRuns(appId: string): Promise<{ data: RunSummary[] }> {
  return api<{ data: RunSummary[] }>("get", "/console/api/apps/{app_id}/workflow-runs", { path: { app_id: appId }, query: { limit: 30 } });
}

export function getRun(appId: string, runId: string): Promise<Record<string, unknown>> {
  return api<Record<string, unknown>>("get", "/console/api/apps/{app_id}/workflow-runs/{run_id}", { path: { app_id: appId, run_id: runId } });
}

export function getNodeExecutions(appId: string, runId: string): Promise<{ data: NodeExecution[] }> {
  return api<{ data: NodeExecution[] }>("get", "/console/api/apps/{app_id}/workflow-runs/{run_id}/node-executions", {
    path: { app_id: appId, run_id: runId },
  });
}

export function exportDsl(appId: string): Promise<{ data: string }> {
  return api<{ data: string }>("get", "/console/api/apps/{app_id}/export", { path: { app_id: appId } });
}

export async function runDraft(appId: string, inputs: Record<string, unknown>, onEvent: (e: StreamEvent) => void, signal?: AbortSignal): Promise<void> {
  const response = await apiRaw("post", "/console/api/apps/{app_id}/workflows/draft/run", { path: { app_id: appId }, body: { inputs } }, signal);
  await readEvents(response, onEvent);
}

export async function runChatflowDraft(
  appId: string,
  body: { query: string; inputs: Record<string, unknown>; conversation_id?: string | null },
  onEvent: (e: StreamEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await apiRaw("post", "/console/api/apps/{app_id}/advanced-chat/workflows/draft/run", { path: { app_id: appId }, body }, signal);
  await readEvents(response, onEvent);
}

export async function rerunFrom(appId: string, runId: string, nodeId: string, onEvent: (e: StreamEvent) => void): Promise<void> {
  const response = await apiRaw("post", "/console/api/apps/{app_id}/workflow-runs/{run_id}/rerun", {
    path: { app_id: appId, run_id: runId },
    query: { from_node: nodeId },
  });
  await readEvents(response, onEvent);
}

export function runNode(appId: string, nodeId: string, inputs: Record<string, unknown>, query?: string): Promise<NodeExecution> {
  return api<NodeExecution>("post", "/console/api/apps/{app_id}/workflows/draft/nodes/{node_id}/run", {
    path: { app_id: appId, node_id: nodeId },
    body: query === undefined ? { inputs } : { inputs, query },
  });
}

export async function stopRun(appId: string, taskId: string): Promise<void> {
  await api<unknown>("post", "/console/api/apps/{app_id}/workflow-runs/tasks/{task_id}/stop", { path: { app_id: appId, task_id: taskId } });
}

export interface ToolParameter {
  name: string;
  label?: Record<string, string>;
  human_description?: Record<string, string>;
  llm_description?: string;
  type: string;
  form: string;
  required?: boolean;
  default?: unknown;
  options?: ({ value: string; label?: Record<string, string> } | string)[];
}
export interface ToolInfo {
  name: string;
  label?: Record<string, string>;
  description?: Record<string, string> | string;
  parameters?: ToolParameter[];
}
export interface ToolProvider {
  id: string;
  name: string;
  type: string;
  label?: Record<string, string>;
  is_team_authorization?: boolean;
  tools: ToolInfo[];
}

export const TOOL_KINDS = ["builtin", "api", "workflow", "mcp"] as const;
let toolCache: Promise<ToolProvider[]> | null = null;

/** Every tool provider of the workspace (built-in, API, workflow and MCP), fetched once per page. */
export function listToolProviders(refresh = false): Promise<ToolProvider[]> {
  if (!toolCache || refresh) {
    toolCache = Promise.all(
      TOOL_KINDS.map((kind) =>
        api<ToolProvider[]>("get", "/console/api/workspaces/current/tools/{kind}", { path: { kind } })
          .then((list) => list.map((p) => ({ ...p, type: p.type || kind, tools: p.tools ?? [] })))
          .catch(() => [] as ToolProvider[]),
      ),
    ).then((lists) => lists.flat());
  }
  return toolCache;
}

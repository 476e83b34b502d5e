import { createContext, useContext } from "react";
import type { FlowMode } from "./catalog";
import type { NodeExecution } from "./run";
import type { Issue } from "./variables";

export interface CanvasView {
  mode: FlowMode;
  /** The shown run's latest execution per node (live or past). */
  executions: Record<string, NodeExecution>;
  issues: Map<string, Issue[]>;
}

export const CanvasViewContext = createContext<CanvasView>({ mode: "workflow", executions: {}, issues: new Map() });

export function useCanvasView(): CanvasView {
  return useContext(CanvasViewContext);
}

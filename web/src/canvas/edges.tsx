/**
 * The canvas edge: a bezier curve that, when selected, shows a "+" button at its middle to insert a
 * node there (the edge is split into source → new node → target).
 */
import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from "@xyflow/react";
import { createContext, memo, useContext, useState } from "react";
import { useTranslation } from "react-i18next";
import { ICONS, kindsFor, PALETTE, type FlowMode, type NodeKind } from "./catalog";
import type { FlowEdge } from "./graph";

export interface EdgeActions {
  mode: FlowMode;
  /** Insert a node of `kind` on the edge, at the flow position `at`. */
  insert: (edgeId: string, kind: NodeKind, at: { x: number; y: number }) => void;
  readOnly: boolean;
}

export const EdgeActionsContext = createContext<EdgeActions>({ mode: "workflow", insert: () => undefined, readOnly: true });

/** Kinds that can sit on an edge: everything but Start and notes. */
export function insertableKinds(mode: FlowMode): NodeKind[] {
  const offered = kindsFor(mode);
  return PALETTE.flatMap((g) => g.kinds).filter((k) => offered(k) && k !== "start" && k !== "note");
}

function InsertMenu({ edgeId, at, onDone }: { edgeId: string; at: { x: number; y: number }; onDone: () => void }) {
  const { t } = useTranslation("canvas");
  const { mode, insert } = useContext(EdgeActionsContext);
  return (
    <div className="wf-edge-menu" role="menu" data-testid="edge-insert-menu">
      {insertableKinds(mode).map((kind) => (
        <button
          key={kind}
          type="button"
          role="menuitem"
          className="wf-palette-item"
          data-testid={`edge-insert-${kind}`}
          onClick={() => {
            insert(edgeId, kind, at);
            onDone();
          }}
        >
          <span className={`wf-icon wf-icon-${kind}`} aria-hidden="true">
            {ICONS[kind]}
          </span>
          {t(`kinds.${kind}`)}
        </button>
      ))}
    </div>
  );
}

function CanvasEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, markerEnd, style, interactionWidth }: EdgeProps<FlowEdge>) {
  const { t } = useTranslation("canvas");
  const { readOnly } = useContext(EdgeActionsContext);
  const [open, setOpen] = useState(false);
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  const shown = (selected || open) && !readOnly;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} interactionWidth={interactionWidth} />
      {shown ? (
        <EdgeLabelRenderer>
          <div className="wf-edge-tools nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}>
            <button type="button" className="wf-edge-add" data-testid="edge-insert" aria-label={t("edge.insert")} title={t("edge.insert")} onClick={() => setOpen(!open)}>
              +
            </button>
            {open ? <InsertMenu edgeId={id} at={{ x: labelX, y: labelY }} onDone={() => setOpen(false)} /> : null}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

export const EDGE_TYPES = { custom: memo(CanvasEdge) };

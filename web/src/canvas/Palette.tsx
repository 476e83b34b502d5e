/** The node palette: Dify's groups; drag an item onto the canvas, or click it to add it beside the selection. */
import { useTranslation } from "react-i18next";
import { ICONS, kindsFor, PALETTE, type FlowMode, type NodeKind } from "./catalog";

export const DRAG_TYPE = "application/x-loomworks-node";

export function Palette({ mode, onAdd }: { mode: FlowMode; onAdd: (kind: NodeKind) => void }) {
  const { t } = useTranslation("canvas");
  const offered = kindsFor(mode);
  return (
    <aside className="wf-palette" data-testid="palette">
      {PALETTE.map((group) => (
        <div key={group.id} className="wf-palette-group">
          <h5>{t(`groups.${group.id}`)}</h5>
          {group.kinds.filter(offered).map((kind) => (
            <button
              key={kind}
              type="button"
              className="wf-palette-item"
              draggable
              data-testid={`palette-${kind}`}
              title={t(`hints.${kind}`)}
              onDragStart={(e) => {
                e.dataTransfer.setData(DRAG_TYPE, kind);
                e.dataTransfer.effectAllowed = "move";
              }}
              onClick={() => onAdd(kind)}
            >
              <span className={`wf-icon wf-icon-${kind}`} aria-hidden="true">
                {ICONS[kind]}
              </span>
              {t(`kinds.${kind}`)}
            </button>
          ))}
        </div>
      ))}
    </aside>
  );
}

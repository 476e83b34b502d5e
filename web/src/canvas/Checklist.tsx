/** The checklist before publishing: every issue, each a link to its node. */
import { useTranslation } from "react-i18next";
import type { FlowNode } from "./graph";
import type { Issue } from "./variables";

export function Checklist({ issues, nodes, onPick }: { issues: Issue[]; nodes: FlowNode[]; onPick: (id: string) => void }) {
  const { t } = useTranslation("canvas");
  const title = (id: string | null) => (id ? (nodes.find((n) => n.id === id)?.data.title ?? id) : t("checklist.graph"));
  return (
    <div className="stack-tight" data-testid="checklist">
      {issues.length === 0 ? <p className="success">{t("checklist.clean")}</p> : null}
      <ul className="wf-issues">
        {issues.map((issue, i) => (
          <li key={i} className={issue.severity} data-testid="checklist-item">
            {issue.nodeId ? (
              <button type="button" className="linklike" onClick={() => onPick(issue.nodeId ?? "")}>
                {title(issue.nodeId)}
              </button>
            ) : (
              <strong>{title(null)}</strong>
            )}
            {": "}
            {t(`issue.${issue.code}`, { detail: issue.detail ? t(`fields.${issue.detail}`, { defaultValue: issue.detail }) : "" })}
          </li>
        ))}
      </ul>
    </div>
  );
}

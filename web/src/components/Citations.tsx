import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { Citation } from "../api/models";

/** The knowledge an answer came from: one chip per document; a chip opens the quoted chunks. */
export function Citations({ citations }: { citations: Citation[] }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<string | null>(null);
  // Several chunks of one document share one chip, as in Dify's web app.
  const groups = new Map<string, Citation[]>();
  citations.forEach((c, i) => {
    const name = c.document_name ?? `#${i + 1}`;
    groups.set(name, [...(groups.get(name) ?? []), c]);
  });
  return (
    <div className="citations" data-testid="citations">
      <span className="muted small">{t("chat.citations")}</span>
      {[...groups].map(([name, items]) => (
        <button key={name} type="button" className={open === name ? "badge badge-blue citation" : "badge citation"} aria-expanded={open === name} data-testid="citation" onClick={() => setOpen(open === name ? null : name)}>
          📄 {name}
          {items.length > 1 ? ` ×${items.length}` : ""}
        </button>
      ))}
      {open ? (
        <div className="citation-body" data-testid="citation-body">
          {(groups.get(open) ?? []).map((c, i) => (
            <div key={c.segment_id ?? i} className="segment small">
              {typeof c.score === "number" ? <span className="muted">{`${t("hit.score")} ${c.score.toFixed(2)}`}</span> : null}
              <div>{c.content}</div>
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}

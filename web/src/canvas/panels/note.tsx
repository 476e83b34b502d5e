import { useTranslation } from "react-i18next";
import { Section, type PanelProps } from "./fields";

const THEMES = ["yellow", "blue", "cyan", "green", "pink", "violet"];

/** Note: a comment on the canvas (the engine ignores it). */
export function NotePanel({ node, update }: PanelProps) {
  const { t } = useTranslation("canvas");
  return (
    <Section title={t("kinds.note")}>
      <textarea rows={6} value={String(node.data.text ?? "")} data-testid="note-text" onChange={(e) => update({ text: e.target.value })} />
      <div className="wf-row">
        <select value={String(node.data.theme ?? "yellow")} aria-label={t("panel.theme")} onChange={(e) => update({ theme: e.target.value })}>
          {THEMES.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
        <input type="text" value={String(node.data.author ?? "")} placeholder={t("panel.author")} aria-label={t("panel.author")} onChange={(e) => update({ author: e.target.value })} />
      </div>
    </Section>
  );
}

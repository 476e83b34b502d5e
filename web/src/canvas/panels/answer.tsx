import { useTranslation } from "react-i18next";
import { Section, TemplateField, type PanelProps } from "./fields";

/** Answer: the reply streamed to the chat, a template over upstream variables. */
export function AnswerPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  return (
    <Section title={t("panel.answer")}>
      <TemplateField value={String(node.data.answer ?? "")} groups={ctx.groups} testId="answer-text" onChange={(answer) => update({ answer })} />
    </Section>
  );
}

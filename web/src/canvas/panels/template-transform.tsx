import { useTranslation } from "react-i18next";
import { CodeField, Section, VarList, type NamedSelector, type PanelProps } from "./fields";

/** Template: a Jinja2 template over named input variables; outputs `output`. */
export function TemplateTransformPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  return (
    <>
      <Section title={t("panel.inputVariables")}>
        <VarList value={(node.data.variables as NamedSelector[] | undefined) ?? []} groups={ctx.groups} testId="template-variables" onChange={(variables) => update({ variables })} />
      </Section>
      <Section title={t("panel.template")}>
        <CodeField value={String(node.data.template ?? "")} language="jinja2" testId="template-text" onChange={(template) => update({ template })} />
      </Section>
    </>
  );
}

import { useTranslation } from "react-i18next";
import { Section, VarList, type NamedSelector, type PanelProps } from "./fields";

/** End: the workflow's outputs, each named and taken from an upstream variable. */
export function EndPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  return (
    <Section title={t("panel.outputs")}>
      <VarList value={(node.data.outputs as NamedSelector[] | undefined) ?? []} groups={ctx.groups} testId="end-outputs" onChange={(outputs) => update({ outputs })} />
    </Section>
  );
}

import { useTranslation } from "react-i18next";
import { Section, VarPicker, type PanelProps } from "./fields";

/** Iteration: runs its child nodes once per item of an array; collects one output per round. */
export function IterationPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  return (
    <>
      <Section title={t("panel.iterator")}>
        <VarPicker value={d.iterator_selector} groups={ctx.groups.filter((g) => g.nodeId !== node.id)} accept={(x) => x.startsWith("array")} testId="iterator" onChange={(s) => update({ iterator_selector: s })} />
      </Section>
      <Section title={t("panel.iterationOutput")}>
        <VarPicker value={d.output_selector} groups={ctx.groups} testId="iteration-output" onChange={(s) => update({ output_selector: s })} />
        <p className="muted small">{t("panel.iterationOutputHint")}</p>
      </Section>
      <Section title={t("panel.parallel")} action={<input type="checkbox" aria-label={t("panel.parallel")} checked={Boolean(d.is_parallel)} onChange={(e) => update({ is_parallel: e.target.checked })} />}>
        {d.is_parallel ? <input type="number" min={1} max={100} value={Number(d.parallel_nums ?? 10)} aria-label={t("panel.parallelNums")} onChange={(e) => update({ parallel_nums: Number(e.target.value) })} /> : null}
      </Section>
      <Section title={t("panel.errorHandle")}>
        <select value={String(d.error_handle_mode ?? "terminated")} aria-label={t("panel.errorHandle")} onChange={(e) => update({ error_handle_mode: e.target.value })}>
          <option value="terminated">{t("panel.terminated")}</option>
          <option value="continue-on-error">{t("panel.continueOnError")}</option>
          <option value="remove-abnormal-output">{t("panel.removeAbnormal")}</option>
        </select>
      </Section>
    </>
  );
}

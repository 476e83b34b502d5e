import { useTranslation } from "react-i18next";
import { Section, VarPicker, type PanelProps } from "./fields";

const TYPES = ["string", "number", "object", "array[string]", "array[number]", "array[object]", "file", "array[file]"];

/** Variable aggregator: the first non-empty of several same-typed variables (one per branch). */
export function VariableAggregatorPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const vars = (node.data.variables as string[][] | undefined) ?? [];
  const type = String(node.data.output_type ?? "string");
  return (
    <Section title={t("panel.variables")}>
      <select value={type} aria-label={t("panel.type")} onChange={(e) => update({ output_type: e.target.value })}>
        {TYPES.map((x) => (
          <option key={x}>{x}</option>
        ))}
      </select>
      {vars.map((s, i) => (
        <div className="wf-row" key={i}>
          <VarPicker value={s} groups={ctx.groups} accept={(x) => x === type} onChange={(next) => update({ variables: vars.map((v, j) => (j === i ? next : v)) })} />
          <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => update({ variables: vars.filter((_, j) => j !== i) })}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => update({ variables: [...vars, []] })}>
        + {t("panel.addVariable")}
      </button>
    </Section>
  );
}

import { useTranslation } from "react-i18next";
import { VARIABLE_NAME } from "../../lib/prompt";
import { Section, type PanelProps } from "./fields";

interface StartVariable {
  variable: string;
  label: string;
  type: string;
  required: boolean;
  max_length?: number;
  options?: string[];
}

const TYPES = ["text-input", "paragraph", "select", "number", "file", "file-list"];

/** Start: the run's input variables (Dify's VariableEntity). */
export function StartPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const vars = (node.data.variables as StartVariable[] | undefined) ?? [];
  const set = (next: StartVariable[]) => update({ variables: next });
  const patch = (i: number, p: Partial<StartVariable>) => set(vars.map((v, j) => (j === i ? { ...v, ...p } : v)));
  return (
    <>
      <Section
        title={t("panel.inputs")}
        action={
          <button
            type="button"
            className="btn btn-small"
            data-testid="start-add-variable"
            onClick={() => set([...vars, { variable: `input_${vars.length + 1}`, label: `input_${vars.length + 1}`, type: "text-input", required: true, max_length: 48, options: [] }])}
          >
            + {t("panel.addVariable")}
          </button>
        }
      >
        {vars.map((v, i) => (
          <div className="wf-card stack-tight" key={i} data-testid="start-variable">
            <div className="wf-row">
              <input
                type="text"
                className={VARIABLE_NAME.test(v.variable) ? "wf-name" : "wf-name wf-invalid"}
                value={v.variable}
                aria-label={t("panel.variableName")}
                data-testid="start-variable-name"
                onChange={(e) => patch(i, { variable: e.target.value, label: v.label === v.variable ? e.target.value : v.label })}
              />
              <select value={v.type} aria-label={t("panel.type")} onChange={(e) => patch(i, { type: e.target.value })}>
                {TYPES.map((type) => (
                  <option key={type} value={type}>
                    {t(`inputTypes.${type}`)}
                  </option>
                ))}
              </select>
              <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => set(vars.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
            <div className="wf-row">
              <input type="text" value={v.label} placeholder={t("panel.label")} aria-label={t("panel.label")} onChange={(e) => patch(i, { label: e.target.value })} />
              <label className="wf-check">
                <input type="checkbox" checked={v.required} onChange={(e) => patch(i, { required: e.target.checked })} /> {t("panel.required")}
              </label>
            </div>
            {v.type === "select" ? (
              <input
                type="text"
                value={(v.options ?? []).join(", ")}
                placeholder={t("panel.options")}
                aria-label={t("panel.options")}
                onChange={(e) => patch(i, { options: e.target.value.split(",").map((s) => s.trim()).filter(Boolean) })}
              />
            ) : null}
            {!VARIABLE_NAME.test(v.variable) ? <p className="field-error">{t("panel.badName")}</p> : null}
          </div>
        ))}
      </Section>
      <Section title={t("panel.systemVariables")}>
        <ul className="wf-vars muted small">
          {ctx.groups
            .filter((g) => g.kind === "sys")
            .flatMap((g) => g.vars)
            .map((v) => (
              <li key={v.selector.join(".")}>
                {v.selector.join(".")} · {v.type}
              </li>
            ))}
        </ul>
      </Section>
    </>
  );
}

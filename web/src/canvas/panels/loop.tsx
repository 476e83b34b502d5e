import { useTranslation } from "react-i18next";
import { newCaseId } from "../catalog";
import type { VarGroup } from "../variables";
import { ConditionRows, newCondition, type Condition } from "./if-else";
import { Section, VarPicker, type PanelProps } from "./fields";

interface LoopVariable {
  id?: string;
  label: string;
  var_type: string;
  value_type: "constant" | "variable";
  value: unknown;
}

const LOOP_TYPES = ["string", "number", "boolean", "object", "array[string]", "array[number]", "array[object]", "array[boolean]"];

function constantOf(type: string, text: string): unknown {
  if (type === "number") return text === "" ? 0 : Number(text);
  if (type === "boolean") return text === "true";
  if (type === "string") return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value);
}

/** Loop: its variables (initial values), the break conditions checked before each round, the round limit. */
export function LoopPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const vars = (d.loop_variables as LoopVariable[] | undefined) ?? [];
  const breaks = (d.break_conditions as Condition[] | undefined) ?? [];
  const logical = String(d.logical_operator ?? "and");
  const setVar = (i: number, patch: Partial<LoopVariable>) => update({ loop_variables: vars.map((v, j) => (j === i ? { ...v, ...patch } : v)) });
  // Break conditions read the loop's own variables too.
  const own: VarGroup = { nodeId: node.id, title: d.title || t("kinds.loop"), kind: "loop", vars: vars.filter((v) => v.label).map((v) => ({ selector: [node.id, v.label], type: v.var_type })) };
  const groups = own.vars.length ? [own, ...ctx.groups] : ctx.groups;
  return (
    <>
      <Section
        title={t("panel.loopVariables")}
        action={
          <button type="button" className="btn btn-small" data-testid="loop-add-variable" onClick={() => update({ loop_variables: [...vars, { id: newCaseId(), label: "", var_type: "string", value_type: "constant", value: "" }] })}>
            + {t("panel.addVariable")}
          </button>
        }
      >
        {vars.map((v, i) => (
          <div className="wf-card stack-tight" key={v.id ?? i} data-testid="loop-variable">
            <div className="wf-row">
              <input type="text" className="wf-name" value={v.label} aria-label={t("panel.variableName")} placeholder={t("panel.variableName")} data-testid="loop-variable-name" onChange={(e) => setVar(i, { label: e.target.value })} />
              <select value={v.var_type} aria-label={t("panel.type")} onChange={(e) => setVar(i, { var_type: e.target.value })}>
                {LOOP_TYPES.map((x) => (
                  <option key={x} value={x}>
                    {x}
                  </option>
                ))}
              </select>
              <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => update({ loop_variables: vars.filter((_, j) => j !== i) })}>
                ✕
              </button>
            </div>
            <div className="wf-row">
              <select value={v.value_type} aria-label={t("panel.valueSource")} onChange={(e) => setVar(i, { value_type: e.target.value as LoopVariable["value_type"], value: e.target.value === "variable" ? [] : "" })}>
                <option value="constant">{t("panel.constant")}</option>
                <option value="variable">{t("panel.variable")}</option>
              </select>
              {v.value_type === "variable" ? (
                <VarPicker value={v.value} groups={ctx.groups} onChange={(s) => setVar(i, { value: s })} />
              ) : (
                <input type="text" value={shown(v.value)} aria-label={t("panel.value")} data-testid="loop-variable-value" onChange={(e) => setVar(i, { value: constantOf(v.var_type, e.target.value) })} />
              )}
            </div>
          </div>
        ))}
      </Section>
      <Section title={t("panel.breakConditions")}>
        <div className="stack-tight" data-testid="loop-breaks">
          <ConditionRows conditions={breaks} groups={groups} onChange={(next) => update({ break_conditions: next })} />
          <div className="row">
            <button type="button" className="btn btn-small" data-testid="loop-add-break" onClick={() => update({ break_conditions: [...breaks, newCondition()] })}>
              + {t("panel.addCondition")}
            </button>
            {breaks.length > 1 ? (
              <button type="button" className="btn btn-small" onClick={() => update({ logical_operator: logical === "and" ? "or" : "and" })}>
                {logical.toUpperCase()} ⇄
              </button>
            ) : null}
          </div>
        </div>
      </Section>
      <Section title={t("panel.loopCount")}>
        <input type="number" min={1} max={1000} value={Number(d.loop_count ?? 10)} aria-label={t("panel.loopCount")} data-testid="loop-count" onChange={(e) => update({ loop_count: Number(e.target.value) })} />
      </Section>
    </>
  );
}

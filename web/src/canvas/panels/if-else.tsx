import { useTranslation } from "react-i18next";
import { newCaseId } from "../catalog";
import { Section, VarPicker, type PanelProps } from "./fields";
import type { VarGroup } from "../variables";

export interface Condition {
  id?: string;
  varType?: string;
  variable_selector: string[];
  comparison_operator: string;
  value: string;
}
interface Case {
  case_id: string;
  logical_operator: "and" | "or";
  conditions: Condition[];
}

const STRING_OPS = ["contains", "not contains", "start with", "end with", "is", "is not", "empty", "not empty"];
const NUMBER_OPS = ["=", "≠", ">", "<", "≥", "≤", "null", "not null"];
const ARRAY_OPS = ["contains", "not contains", "empty", "not empty"];
const FILE_OPS = ["exists", "not exists"];
const NO_VALUE = new Set(["empty", "not empty", "null", "not null", "exists", "not exists"]);

export function operatorsFor(type: string): string[] {
  if (type === "number") return NUMBER_OPS;
  if (type === "file") return FILE_OPS;
  if (type.startsWith("array")) return ARRAY_OPS;
  if (type === "boolean") return ["is", "is not"];
  return STRING_OPS;
}

function typeOf(groups: VarGroup[], selector: string[]): string {
  const key = selector.join(".");
  for (const g of groups) for (const v of g.vars) if (v.selector.join(".") === key) return v.type;
  return "string";
}

/** Condition rows (variable, operator, value), as if/else cases and loop break conditions hold them. */
export function ConditionRows({ conditions, groups, onChange }: { conditions: Condition[]; groups: VarGroup[]; onChange: (next: Condition[]) => void }) {
  const { t } = useTranslation("canvas");
  const setCond = (k: number, patch: Partial<Condition>) => onChange(conditions.map((c, j) => (j === k ? { ...c, ...patch } : c)));
  return (
    <>
      {conditions.map((cond, k) => {
        const type = typeOf(groups, cond.variable_selector);
        const ops = operatorsFor(type);
        return (
          <div className="wf-card stack-tight" key={cond.id ?? k} data-testid="condition">
            <VarPicker value={cond.variable_selector} groups={groups} testId="condition-variable" onChange={(s) => setCond(k, { variable_selector: s, varType: typeOf(groups, s), comparison_operator: operatorsFor(typeOf(groups, s))[0] ?? "is" })} />
            <div className="wf-row">
              <select value={cond.comparison_operator} aria-label={t("panel.operator")} data-testid="condition-operator" onChange={(e) => setCond(k, { comparison_operator: e.target.value })}>
                {(ops.includes(cond.comparison_operator) ? ops : [cond.comparison_operator, ...ops]).map((op) => (
                  <option key={op} value={op}>
                    {t(`ops.${op}`, { defaultValue: op })}
                  </option>
                ))}
              </select>
              {NO_VALUE.has(cond.comparison_operator) ? null : (
                <input type={type === "number" ? "number" : "text"} value={String(cond.value ?? "")} aria-label={t("panel.value")} data-testid="condition-value" onChange={(e) => setCond(k, { value: e.target.value })} />
              )}
              <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => onChange(conditions.filter((_, j) => j !== k))}>
                ✕
              </button>
            </div>
          </div>
        );
      })}
    </>
  );
}

export function newCondition(): Condition {
  return { id: newCaseId(), varType: "string", variable_selector: [], comparison_operator: "contains", value: "" };
}

/** If/else: cases of conditions (AND/OR), each its own branch handle, then ELSE. */
export function IfElsePanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const cases: Case[] = Array.isArray(node.data.cases)
    ? (node.data.cases as Case[])
    : [{ case_id: "true", logical_operator: (node.data.logical_operator as "and" | "or") ?? "and", conditions: (node.data.conditions as Condition[]) ?? [] }];
  const set = (next: Case[]) => update({ cases: next });
  const setCase = (i: number, patch: Partial<Case>) => set(cases.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  return (
    <>
      {cases.map((c, i) => (
        <Section
          key={c.case_id}
          title={i === 0 ? "IF" : `ELIF ${i}`}
          action={
            i > 0 ? (
              <button type="button" className="btn btn-ghost btn-small" onClick={() => set(cases.filter((_, j) => j !== i))}>
                {t("panel.removeCase")}
              </button>
            ) : null
          }
        >
          <div className="stack-tight" data-testid={`case-${i}`}>
            <ConditionRows conditions={c.conditions} groups={ctx.groups} onChange={(conditions) => setCase(i, { conditions })} />
            <div className="row">
              <button
                type="button"
                className="btn btn-small"
                data-testid={`case-${i}-add-condition`}
                onClick={() => setCase(i, { conditions: [...c.conditions, newCondition()] })}
              >
                + {t("panel.addCondition")}
              </button>
              {c.conditions.length > 1 ? (
                <button type="button" className="btn btn-small" onClick={() => setCase(i, { logical_operator: c.logical_operator === "and" ? "or" : "and" })}>
                  {c.logical_operator.toUpperCase()} ⇄
                </button>
              ) : null}
            </div>
          </div>
        </Section>
      ))}
      <Section title="ELSE">
        <button type="button" className="btn btn-small" onClick={() => set([...cases, { case_id: newCaseId(), logical_operator: "and", conditions: [] }])}>
          + ELIF
        </button>
        <p className="muted small">{t("panel.elseHint")}</p>
      </Section>
    </>
  );
}

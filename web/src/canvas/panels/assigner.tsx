import { useTranslation } from "react-i18next";
import { Section, VarPicker, type PanelProps } from "./fields";
import type { VarGroup } from "../variables";

export interface AssignItem {
  variable_selector: string[];
  input_type: "variable" | "constant";
  operation: string;
  value: unknown;
}

const NO_VALUE = new Set(["clear", "remove-first", "remove-last"]);

/** The operations Dify offers for a variable of `type`. */
export function assignOperations(type: string): string[] {
  if (type.startsWith("array")) return ["over-write", "clear", "append", "extend", "remove-first", "remove-last"];
  if (type === "number") return ["over-write", "clear", "set", "+=", "-=", "*=", "/="];
  return ["over-write", "clear", "set"];
}

function typeOf(groups: VarGroup[], selector: unknown): string {
  const key = Array.isArray(selector) ? selector.join(".") : "";
  for (const g of groups) for (const v of g.vars) if (v.selector.join(".") === key) return v.type;
  return "string";
}

/** Variable assigner (v2): rows of target variable, operation and value (another variable or a constant). */
export function AssignerPanel({ node, update, ctx }: PanelProps) {
  const d = node.data;
  // Only conversation variables and the enclosing loop's variables can be written.
  const targets = ctx.groups.filter((g) => g.kind === "conversation" || g.kind === "loop");
  if (String(d.version ?? "1") !== "2" && !Array.isArray(d.items)) {
    // A v1 node (one target, `write_mode`): shown as one v2 item once edited.
    const legacy: AssignItem = {
      variable_selector: (d.assigned_variable_selector as string[] | undefined) ?? [],
      operation: String(d.write_mode ?? "over-write"),
      input_type: "variable",
      value: (d.input_variable_selector as string[] | undefined) ?? [],
    };
    return <Items items={[legacy]} targets={targets} groups={ctx.groups} onChange={(items) => update({ version: "2", items, assigned_variable_selector: undefined, write_mode: undefined, input_variable_selector: undefined })} />;
  }
  const items = (d.items as AssignItem[] | undefined) ?? [];
  return <Items items={items} targets={targets} groups={ctx.groups} onChange={(next) => update({ version: "2", items: next })} />;
}

function Items({ items, targets, groups, onChange }: { items: AssignItem[]; targets: VarGroup[]; groups: VarGroup[]; onChange: (items: AssignItem[]) => void }) {
  const { t } = useTranslation("canvas");
  const set = (i: number, patch: Partial<AssignItem>) => onChange(items.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  return (
    <Section
      title={t("panel.assignments")}
      action={
        <button type="button" className="btn btn-small" data-testid="assigner-add" onClick={() => onChange([...items, { variable_selector: [], input_type: "variable", operation: "over-write", value: [] }])}>
          + {t("panel.addAssignment")}
        </button>
      }
    >
      {targets.length === 0 ? <p className="muted small">{t("panel.noAssignable")}</p> : null}
      {items.map((item, i) => {
        const type = typeOf(groups, item.variable_selector);
        const ops = assignOperations(type);
        return (
          <div className="wf-card stack-tight" key={i} data-testid="assigner-item">
            <div className="wf-row">
              <VarPicker value={item.variable_selector} groups={targets} testId="assigner-target" label={t("panel.assignTarget")} onChange={(s) => set(i, { variable_selector: s, operation: assignOperations(typeOf(groups, s)).includes(item.operation) ? item.operation : "over-write" })} />
              <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => onChange(items.filter((_, j) => j !== i))}>
                ✕
              </button>
            </div>
            <div className="wf-row">
              <select
                value={item.operation}
                aria-label={t("panel.operation")}
                data-testid="assigner-operation"
                onChange={(e) => {
                  const operation = e.target.value;
                  // `set` and the arithmetic operations take a constant; over-write and append a variable.
                  const constant = operation === "set" || ["+=", "-=", "*=", "/="].includes(operation);
                  set(i, { operation, input_type: constant ? "constant" : "variable", value: constant ? (type === "number" ? 0 : "") : [] });
                }}
              >
                {(ops.includes(item.operation) ? ops : [item.operation, ...ops]).map((op) => (
                  <option key={op} value={op}>
                    {t(`assignOps.${op}`, { defaultValue: op })}
                  </option>
                ))}
              </select>
              {NO_VALUE.has(item.operation) ? null : item.input_type === "variable" ? (
                <VarPicker value={item.value} groups={groups} testId="assigner-value" onChange={(s) => set(i, { value: s })} />
              ) : (
                <input
                  type={type === "number" || ["+=", "-=", "*=", "/="].includes(item.operation) ? "number" : "text"}
                  value={String(item.value ?? "")}
                  aria-label={t("panel.value")}
                  data-testid="assigner-constant"
                  onChange={(e) => set(i, { value: e.target.type === "number" ? Number(e.target.value) : e.target.value })}
                />
              )}
            </div>
          </div>
        );
      })}
    </Section>
  );
}

import { useTranslation } from "react-i18next";
import { operatorsFor } from "./if-else";
import { Section, VarPicker, type PanelProps } from "./fields";
import type { VarGroup } from "../variables";

interface FilterCondition {
  key: string;
  comparison_operator: string;
  value: unknown;
}

const FILE_KEYS = ["name", "type", "extension", "mime_type", "transfer_method", "url", "size"];
const NO_VALUE = new Set(["empty", "not empty", "null", "not null", "exists", "not exists"]);

function typeOf(groups: VarGroup[], selector: unknown): string {
  const key = Array.isArray(selector) ? selector.join(".") : "";
  for (const g of groups) for (const v of g.vars) if (v.selector.join(".") === key) return v.type;
  return "array[string]";
}

/** List operator: an array variable, filtered, ordered, limited, and optionally one item extracted. */
export function ListOperatorPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const type = typeOf(ctx.groups, d.variable);
  const itemType = type.startsWith("array[") ? type.slice(6, -1) : "string";
  const keyed = itemType === "file" || itemType === "object";
  const filter = (d.filter_by as { enabled?: boolean; conditions?: FilterCondition[] } | undefined) ?? { enabled: false, conditions: [] };
  const conditions = filter.conditions ?? [];
  const order = (d.order_by as { enabled?: boolean; key?: string; value?: string } | undefined) ?? { enabled: false, key: "", value: "asc" };
  const limit = (d.limit as { enabled?: boolean; size?: number } | undefined) ?? { enabled: false, size: 10 };
  const extract = (d.extract_by as { enabled?: boolean; serial?: string } | undefined) ?? { enabled: false, serial: "1" };
  const setConditions = (next: FilterCondition[]) => update({ filter_by: { ...filter, conditions: next } });
  const ops = operatorsFor(itemType === "file" ? "string" : itemType);
  return (
    <>
      <Section title={t("panel.inputVariable")}>
        <VarPicker
          value={d.variable}
          groups={ctx.groups}
          accept={(x) => x.startsWith("array")}
          testId="list-variable"
          onChange={(s) => {
            const picked = typeOf(ctx.groups, s);
            update({ variable: s, var_type: picked, item_var_type: picked.startsWith("array[") ? picked.slice(6, -1) : "string" });
          }}
        />
      </Section>
      <Section title={t("panel.filter")} action={<input type="checkbox" aria-label={t("panel.filter")} data-testid="list-filter-toggle" checked={Boolean(filter.enabled)} onChange={(e) => update({ filter_by: { ...filter, enabled: e.target.checked } })} />}>
        {filter.enabled ? (
          <div className="stack-tight">
            {conditions.map((c, i) => (
              <div className="wf-row" key={i} data-testid="list-condition">
                {keyed ? (
                  itemType === "file" ? (
                    <select value={c.key} aria-label={t("panel.key")} onChange={(e) => setConditions(conditions.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}>
                      {FILE_KEYS.map((k) => (
                        <option key={k} value={k}>
                          {k}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <input type="text" className="wf-name" value={c.key} aria-label={t("panel.key")} placeholder={t("panel.key")} onChange={(e) => setConditions(conditions.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))} />
                  )
                ) : null}
                <select value={c.comparison_operator} aria-label={t("panel.operator")} data-testid="list-operator" onChange={(e) => setConditions(conditions.map((x, j) => (j === i ? { ...x, comparison_operator: e.target.value } : x)))}>
                  {(ops.includes(c.comparison_operator) ? ops : [c.comparison_operator, ...ops]).map((op) => (
                    <option key={op} value={op}>
                      {t(`ops.${op}`, { defaultValue: op })}
                    </option>
                  ))}
                </select>
                {NO_VALUE.has(c.comparison_operator) ? null : (
                  <input type="text" value={String(c.value ?? "")} aria-label={t("panel.value")} data-testid="list-value" onChange={(e) => setConditions(conditions.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
                )}
                <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => setConditions(conditions.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </div>
            ))}
            <button type="button" className="btn btn-small" data-testid="list-add-condition" onClick={() => setConditions([...conditions, { key: itemType === "file" ? "name" : "", comparison_operator: ops[0] ?? "contains", value: "" }])}>
              + {t("panel.addCondition")}
            </button>
          </div>
        ) : null}
      </Section>
      <Section title={t("panel.extract")} action={<input type="checkbox" aria-label={t("panel.extract")} data-testid="list-extract-toggle" checked={Boolean(extract.enabled)} onChange={(e) => update({ extract_by: { serial: "1", ...extract, enabled: e.target.checked } })} />}>
        {extract.enabled ? <input type="text" value={String(extract.serial ?? "1")} aria-label={t("panel.serial")} data-testid="list-serial" onChange={(e) => update({ extract_by: { ...extract, serial: e.target.value } })} /> : null}
      </Section>
      <Section title={t("panel.orderBy")} action={<input type="checkbox" aria-label={t("panel.orderBy")} data-testid="list-order-toggle" checked={Boolean(order.enabled)} onChange={(e) => update({ order_by: { key: "", value: "asc", ...order, enabled: e.target.checked } })} />}>
        {order.enabled ? (
          <div className="wf-row">
            {keyed ? <input type="text" className="wf-name" value={String(order.key ?? "")} aria-label={t("panel.key")} placeholder={t("panel.key")} onChange={(e) => update({ order_by: { ...order, key: e.target.value } })} /> : null}
            <select value={String(order.value ?? "asc")} aria-label={t("panel.orderBy")} data-testid="list-order" onChange={(e) => update({ order_by: { ...order, value: e.target.value } })}>
              <option value="asc">{t("panel.asc")}</option>
              <option value="desc">{t("panel.desc")}</option>
            </select>
          </div>
        ) : null}
      </Section>
      <Section title={t("panel.limit")} action={<input type="checkbox" aria-label={t("panel.limit")} data-testid="list-limit-toggle" checked={Boolean(limit.enabled)} onChange={(e) => update({ limit: { size: 10, ...limit, enabled: e.target.checked } })} />}>
        {limit.enabled ? <input type="number" min={1} value={Number(limit.size ?? 10)} aria-label={t("panel.limitSize")} data-testid="list-limit" onChange={(e) => update({ limit: { ...limit, size: Number(e.target.value) } })} /> : null}
      </Section>
    </>
  );
}

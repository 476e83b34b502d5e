import { useTranslation } from "react-i18next";
import { Section, VarPicker, type PanelProps } from "./fields";
import type { VarGroup } from "../variables";

function typeOf(groups: VarGroup[], selector: string[]): string | undefined {
  const key = selector.join(".");
  for (const g of groups) for (const v of g.vars) if (v.selector.join(".") === key) return v.type;
  return undefined;
}

/** Document extractor: a file (or file list) variable; `is_array_file` follows the chosen variable's type. */
export function DocumentExtractorPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  return (
    <Section title={t("panel.inputVariable")}>
      <VarPicker
        value={d.variable_selector}
        groups={ctx.groups}
        accept={(x) => x === "file" || x === "array[file]"}
        testId="doc-variable"
        onChange={(s) => update({ variable_selector: s, is_array_file: typeOf(ctx.groups, s) === "array[file]" })}
      />
      <label className="wf-check">
        <input type="checkbox" checked={Boolean(d.is_array_file)} data-testid="doc-is-array" onChange={(e) => update({ is_array_file: e.target.checked })} /> {t("panel.isArrayFile")}
      </label>
      <p className="muted small">{t("panel.docHint")}</p>
    </Section>
  );
}

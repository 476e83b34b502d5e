import { useTranslation } from "react-i18next";
import { VARIABLE_NAME } from "../../lib/prompt";
import { CodeField, Section, VarList, type NamedSelector, type PanelProps } from "./fields";

const OUTPUT_TYPES = ["string", "number", "boolean", "object", "array[string]", "array[number]", "array[object]"];
const STARTERS: Record<string, string> = {
  python3: 'def main(arg1: str) -> dict:\n    return {"result": arg1}\n',
  javascript: "function main({ arg1 }) {\n  return { result: arg1 };\n}\n",
};

/** Code: language, source with `main(...)`, input variables and declared outputs. */
export function CodePanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const language = String(node.data.code_language ?? "python3");
  const outputs = (node.data.outputs as Record<string, { type: string; children: null }> | undefined) ?? {};
  const entries = Object.entries(outputs);
  const setOutputs = (rows: [string, string][]) => update({ outputs: Object.fromEntries(rows.map(([name, type]) => [name, { type, children: null }])) });
  return (
    <>
      <Section title={t("panel.inputVariables")}>
        <VarList value={(node.data.variables as NamedSelector[] | undefined) ?? []} groups={ctx.groups} testId="code-variables" onChange={(variables) => update({ variables })} />
      </Section>
      <Section
        title={t("panel.code")}
        action={
          <select
            value={language}
            aria-label={t("panel.language")}
            data-testid="code-language"
            onChange={(e) => {
              const next = e.target.value;
              const untouched = Object.values(STARTERS).includes(String(node.data.code ?? ""));
              update(untouched ? { code_language: next, code: STARTERS[next] } : { code_language: next });
            }}
          >
            <option value="python3">Python 3</option>
            <option value="javascript">JavaScript</option>
          </select>
        }
      >
        <CodeField value={String(node.data.code ?? "")} language={language} testId="code-text" onChange={(code) => update({ code })} />
      </Section>
      <Section
        title={t("panel.outputVariables")}
        action={
          <button type="button" className="btn btn-small" onClick={() => setOutputs([...entries.map(([n, s]) => [n, s.type] as [string, string]), [`output_${entries.length + 1}`, "string"]])}>
            + {t("panel.addOutput")}
          </button>
        }
      >
        {entries.map(([name, spec], i) => (
          <div className="wf-row" key={i}>
            <input
              type="text"
              className={VARIABLE_NAME.test(name) ? "wf-name" : "wf-name wf-invalid"}
              value={name}
              aria-label={t("panel.variableName")}
              onChange={(e) => setOutputs(entries.map(([n, s], j) => [j === i ? e.target.value : n, s.type]))}
            />
            <select value={spec.type} aria-label={t("panel.type")} onChange={(e) => setOutputs(entries.map(([n, s], j) => [n, j === i ? e.target.value : s.type]))}>
              {OUTPUT_TYPES.map((type) => (
                <option key={type}>{type}</option>
              ))}
            </select>
            <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => setOutputs(entries.filter((_, j) => j !== i).map(([n, s]) => [n, s.type]))}>
              ✕
            </button>
          </div>
        ))}
      </Section>
    </>
  );
}

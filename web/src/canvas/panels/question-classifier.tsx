import { useTranslation } from "react-i18next";
import { ModelSelect, Section, TemplateField, VarPicker, type PanelProps } from "./fields";

interface ClassItem {
  id: string;
  name: string;
}

/** Question classifier: model, the query, the classes (each its own branch handle), instructions. */
export function QuestionClassifierPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const model = (d.model as { provider?: string; name?: string } | undefined) ?? {};
  const classes = (d.classes as ClassItem[] | undefined) ?? [];
  const nextId = () => String(Math.max(0, ...classes.map((c) => Number(c.id) || 0)) + 1);
  return (
    <>
      <Section title={t("panel.model")}>
        <ModelSelect value={model} models={ctx.models} onChange={(provider, name) => update({ model: { mode: "chat", completion_params: {}, ...model, provider, name } })} />
      </Section>
      <Section title={t("panel.queryVariable")}>
        <VarPicker value={d.query_variable_selector} groups={ctx.groups} accept={(x) => x === "string"} onChange={(s) => update({ query_variable_selector: s })} />
      </Section>
      <Section
        title={t("panel.classes")}
        action={
          <button type="button" className="btn btn-small" onClick={() => update({ classes: [...classes, { id: nextId(), name: "" }] })}>
            + {t("panel.addClass")}
          </button>
        }
      >
        {classes.map((c, i) => (
          <div className="wf-row" key={c.id}>
            <span className="muted small">{i + 1}</span>
            <input type="text" value={c.name} aria-label={t("panel.className")} placeholder={t("panel.className")} onChange={(e) => update({ classes: classes.map((x) => (x.id === c.id ? { ...x, name: e.target.value } : x)) })} />
            <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => update({ classes: classes.filter((x) => x.id !== c.id) })}>
              ✕
            </button>
          </div>
        ))}
      </Section>
      <Section title={t("panel.instruction")}>
        <TemplateField value={String(d.instruction ?? "")} groups={ctx.groups} onChange={(instruction) => update({ instruction })} />
      </Section>
    </>
  );
}

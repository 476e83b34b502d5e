import { useTranslation } from "react-i18next";
import { Section, VarPicker, type PanelProps } from "./fields";

/** Knowledge retrieval: the query variable, the knowledge bases to search, top-k and threshold. */
export function KnowledgeRetrievalPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const ids = (d.dataset_ids as string[] | undefined) ?? [];
  const config = (d.multiple_retrieval_config as { top_k?: number; score_threshold?: number | null } | undefined) ?? {};
  const toggle = (id: string) => update({ dataset_ids: ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id] });
  const known = new Set(ctx.datasets.map((x) => x.id));
  return (
    <>
      <Section title={t("panel.queryVariable")}>
        <VarPicker value={d.query_variable_selector} groups={ctx.groups} accept={(x) => x === "string"} onChange={(s) => update({ query_variable_selector: s })} />
      </Section>
      <Section title={t("panel.knowledge")}>
        {ctx.datasets.length === 0 ? <p className="muted small">{t("panel.noDatasets")}</p> : null}
        {ctx.datasets.map((ds) => (
          <label className="wf-check" key={ds.id}>
            <input type="checkbox" checked={ids.includes(ds.id)} onChange={() => toggle(ds.id)} /> {ds.name}
          </label>
        ))}
        {ids
          .filter((id) => !known.has(id))
          .map((id) => (
            <label className="wf-check wf-invalid" key={id}>
              <input type="checkbox" checked onChange={() => toggle(id)} /> {id} ({t("panel.missingDataset")})
            </label>
          ))}
      </Section>
      <Section title={t("panel.retrieval")}>
        <div className="wf-row">
          <label className="small muted">top_k</label>
          <input type="number" min={1} max={20} value={config.top_k ?? 4} onChange={(e) => update({ retrieval_mode: "multiple", multiple_retrieval_config: { ...config, top_k: Number(e.target.value) } })} />
          <label className="small muted">score ≥</label>
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            value={config.score_threshold ?? ""}
            onChange={(e) => update({ retrieval_mode: "multiple", multiple_retrieval_config: { ...config, score_threshold: e.target.value === "" ? null : Number(e.target.value) } })}
          />
        </div>
      </Section>
    </>
  );
}

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { Dataset, DatasetConfigs, ModelConfig } from "../../api/models";
import { ModelSelect } from "../../components/ModelSelect";
import { ErrorBox, Modal, Switch } from "../../components/ui";

export function datasetConfigs(config: ModelConfig): DatasetConfigs {
  const found = config.dataset_configs as Partial<DatasetConfigs> | undefined;
  return {
    retrieval_model: "multiple",
    top_k: 4,
    score_threshold_enabled: false,
    score_threshold: null,
    reranking_enable: false,
    ...(found ?? {}),
    datasets: { datasets: found?.datasets?.datasets ?? [] },
  };
}

/** The ids of the knowledge bases an app's config names (enabled ones). */
export function selectedDatasetIds(config: ModelConfig): string[] {
  return datasetConfigs(config)
    .datasets.datasets.filter((d) => d.dataset.enabled)
    .map((d) => d.dataset.id);
}

/** The config with exactly these knowledge bases selected (settings kept). */
export function withDatasets(config: ModelConfig, ids: string[]): ModelConfig {
  return { ...config, dataset_configs: { ...datasetConfigs(config), datasets: { datasets: ids.map((id) => ({ dataset: { id, enabled: true } })) } } };
}

/** The editor's context panel: pick knowledge bases and how they are searched (`dataset_configs`). */
export function ContextPanel({ config, mode, variables, onChange }: { config: ModelConfig; mode: string; variables: string[]; onChange: (patch: Partial<ModelConfig>) => void }) {
  const { t } = useTranslation();
  const [all, setAll] = useState<Dataset[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [picking, setPicking] = useState(false);
  const [choice, setChoice] = useState<string[]>([]);
  const settings = datasetConfigs(config);
  const ids = selectedDatasetIds(config);
  useEffect(() => {
    api<{ data: Dataset[] }>("get", "/console/api/datasets", { query: { page: 1, limit: 100 } })
      .then((r) => setAll(r.data))
      .catch(setError);
  }, []);
  const setSettings = (patch: Partial<DatasetConfigs>) => onChange({ dataset_configs: { ...settings, ...patch } });
  const byId = new Map((all ?? []).map((d) => [d.id, d]));
  const rerank = settings.reranking_enable && settings.reranking_model?.reranking_model_name
    ? { provider: settings.reranking_model.reranking_provider_name, model: settings.reranking_model.reranking_model_name }
    : null;
  return (
    <section className="panel stack" data-testid="context-panel">
      <div className="panel-head" style={{ marginBottom: 0 }}>
        <div>
          <h2>{t("context.title")}</h2>
          <span className="muted small">{t("context.hint")}</span>
        </div>
        <button
          type="button"
          className="btn btn-small"
          data-testid="context-add"
          onClick={() => {
            setChoice(ids);
            setPicking(true);
          }}
        >
          + {t("context.add")}
        </button>
      </div>
      <ErrorBox error={error} />
      {ids.length === 0 ? <p className="muted small">{t("context.none")}</p> : null}
      {ids.map((id) => (
        <div key={id} className="row-between dataset-chip" data-testid="context-dataset">
          <span>📚 {byId.get(id)?.name ?? id}</span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => onChange(withDatasets(config, ids.filter((x) => x !== id)))}>
            {t("context.remove")}
          </button>
        </div>
      ))}
      {ids.length > 0 ? (
        <details>
          <summary className="small">{t("context.settings")}</summary>
          <div className="stack" style={{ paddingTop: 8 }}>
            <div className="row wrap" style={{ gap: 16 }}>
              <label className="row small">
                {t("retrieval.topK")}
                <input type="number" min={1} max={100} style={{ width: 80 }} value={settings.top_k ?? 4} onChange={(e) => setSettings({ top_k: Math.min(100, Math.max(1, Number(e.target.value) || 1)) })} />
              </label>
              <div className="row small">
                <Switch checked={Boolean(settings.score_threshold_enabled)} label={t("retrieval.threshold")} onChange={(on) => setSettings({ score_threshold_enabled: on, score_threshold: settings.score_threshold ?? 0.5 })} />
                {t("retrieval.threshold")}
                <input
                  type="number"
                  min={0}
                  max={1}
                  step={0.05}
                  style={{ width: 80 }}
                  disabled={!settings.score_threshold_enabled}
                  value={settings.score_threshold ?? 0.5}
                  onChange={(e) => setSettings({ score_threshold: Number(e.target.value) })}
                />
              </div>
            </div>
            <label className="field">
              <span>{t("retrieval.rerank")}</span>
              <ModelSelect
                type="rerank"
                value={rerank}
                emptyLabel={t("retrieval.rerankOff")}
                onChange={(m) =>
                  setSettings({
                    reranking_enable: m !== null,
                    reranking_mode: "reranking_model",
                    reranking_model: { reranking_provider_name: m?.provider ?? "", reranking_model_name: m?.model ?? "" },
                  })
                }
              />
            </label>
            {mode === "completion" ? (
              <label className="field">
                <span>{t("context.queryVariable")}</span>
                <select value={config.dataset_query_variable} onChange={(e) => onChange({ dataset_query_variable: e.target.value })}>
                  <option value="">—</option>
                  {variables.map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
                <span className="field-hint">{t("context.queryVariableHint")}</span>
              </label>
            ) : null}
          </div>
        </details>
      ) : null}
      {picking ? (
        <Modal
          title={t("context.pick")}
          onClose={() => setPicking(false)}
          footer={
            <>
              <button type="button" className="btn" onClick={() => setPicking(false)}>
                {t("common.cancel")}
              </button>
              <button
                type="button"
                className="btn btn-primary"
                data-testid="context-save"
                onClick={() => {
                  onChange(withDatasets(config, choice));
                  setPicking(false);
                }}
              >
                {t("common.save")}
              </button>
            </>
          }
        >
          {(all ?? []).length === 0 ? (
            <p className="muted">
              {t("context.noDatasets")} <a href="/datasets">{t("context.create")}</a>
            </p>
          ) : null}
          <div className="stack" data-testid="context-choices">
            {(all ?? []).map((d) => (
              <label key={d.id} className="row dataset-chip">
                <input type="checkbox" checked={choice.includes(d.id)} onChange={(e) => setChoice(e.target.checked ? [...choice, d.id] : choice.filter((x) => x !== d.id))} />
                <span className="grow">📚 {d.name}</span>
                <span className="muted small">{t("knowledge.stats", { docs: d.document_count, words: d.word_count })}</span>
              </label>
            ))}
          </div>
        </Modal>
      ) : null}
    </section>
  );
}

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { DatasetDetail, RetrievalModel } from "../../api/models";
import { ModelSelect, type ModelChoice } from "../../components/ModelSelect";
import { RetrievalSettings } from "../../components/RetrievalSettings";
import { ErrorBox } from "../../components/ui";
import { MetadataPanel } from "./MetadataPanel";

/** A knowledge base's settings: name, description, embedding model, retrieval settings, metadata. */
export function DatasetSettings({ dataset, onSaved }: { dataset: DatasetDetail; onSaved: (d: DatasetDetail) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(dataset.name);
  const [description, setDescription] = useState(dataset.description ?? "");
  const [embedding, setEmbedding] = useState<ModelChoice | null>(
    dataset.embedding_model ? { provider: dataset.embedding_model_provider ?? "", model: dataset.embedding_model } : null,
  );
  const [retrieval, setRetrieval] = useState<RetrievalModel>(dataset.retrieval_model_dict);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      const body: Record<string, unknown> = { name, description, retrieval_model: retrieval };
      if (embedding) Object.assign(body, { embedding_model: embedding.model, embedding_model_provider: embedding.provider, indexing_technique: "high_quality" });
      onSaved(await api<DatasetDetail>("patch", "/console/api/datasets/{dataset_id}", { path: { dataset_id: dataset.id }, body }));
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="stack" style={{ maxWidth: 760 }} data-testid="dataset-settings">
      <section className="panel stack">
        <div className="field">
          <label htmlFor="ds-settings-name">{t("knowledge.name")}</label>
          <input id="ds-settings-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="ds-settings-desc">{t("createApp.description")}</label>
          <textarea id="ds-settings-desc" value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="ds-embedding">{t("retrieval.embedding")}</label>
          <ModelSelect id="ds-embedding" type="text-embedding" value={embedding} emptyLabel={t("retrieval.workspaceDefault")} onChange={setEmbedding} testId="embedding-select" />
          <p className="field-hint">{t("retrieval.embeddingHint")}</p>
        </div>
      </section>
      <section className="panel stack">
        <h2>{t("retrieval.title")}</h2>
        <RetrievalSettings value={retrieval} onChange={setRetrieval} idPrefix="ds" />
      </section>
      <ErrorBox error={error} />
      {saved ? <div className="success">{t("retrieval.saved")}</div> : null}
      <div>
        <button type="button" className="btn btn-primary" data-testid="dataset-settings-save" onClick={() => void save()}>
          {t("retrieval.save")}
        </button>
      </div>
      <MetadataPanel datasetId={dataset.id} />
    </div>
  );
}

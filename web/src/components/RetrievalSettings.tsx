import { useTranslation } from "react-i18next";
import type { RetrievalModel } from "../api/models";
import { ModelSelect } from "./ModelSelect";
import { Switch } from "./ui";

export const SEARCH_METHODS = ["semantic_search", "full_text_search", "hybrid_search", "keyword_search"] as const;

export function defaultRetrieval(): RetrievalModel {
  return {
    search_method: "semantic_search",
    reranking_enable: false,
    reranking_mode: null,
    reranking_model: { reranking_provider_name: "", reranking_model_name: "" },
    weights: null,
    top_k: 3,
    score_threshold_enabled: false,
    score_threshold: 0.5,
  };
}

/** Hybrid search mixes the two scores either by a rerank model or by weights (Dify's two modes). */
function hybridWeights(semantic: number): NonNullable<RetrievalModel["weights"]> {
  const s = Math.round(semantic * 10) / 10;
  return { vector_setting: { vector_weight: s }, keyword_setting: { keyword_weight: Math.round((1 - s) * 10) / 10 } };
}

/** A dataset's retrieval model: search method, top K, score threshold, rerank model or weights. */
export function RetrievalSettings({ value, onChange, idPrefix = "retrieval" }: { value: RetrievalModel; onChange: (v: RetrievalModel) => void; idPrefix?: string }) {
  const { t } = useTranslation();
  const set = (patch: Partial<RetrievalModel>) => onChange({ ...value, ...patch });
  const rerank = value.reranking_enable && value.reranking_model.reranking_model_name
    ? { provider: value.reranking_model.reranking_provider_name, model: value.reranking_model.reranking_model_name }
    : null;
  const semantic = value.weights?.vector_setting.vector_weight ?? 0.7;
  const useWeights = value.search_method === "hybrid_search" && value.reranking_mode === "weighted_score";
  return (
    <div className="stack" data-testid="retrieval-settings">
      <div className="method-grid" role="radiogroup" aria-label={t("retrieval.method")}>
        {SEARCH_METHODS.map((method) => (
          <label key={method} className={value.search_method === method ? "method on" : "method"}>
            <input type="radio" name={`${idPrefix}-method`} value={method} checked={value.search_method === method} onChange={() => set({ search_method: method })} />
            {t(`retrieval.methods.${method}`)}
          </label>
        ))}
      </div>
      <div className="row wrap" style={{ gap: 16 }}>
        <label className="row small">
          {t("retrieval.topK")}
          <input id={`${idPrefix}-top-k`} type="number" min={1} max={100} style={{ width: 80 }} value={value.top_k} onChange={(e) => set({ top_k: Math.min(100, Math.max(1, Number(e.target.value) || 1)) })} />
        </label>
        <div className="row small">
          <Switch checked={value.score_threshold_enabled} label={t("retrieval.threshold")} onChange={(on) => set({ score_threshold_enabled: on, score_threshold: value.score_threshold ?? 0.5 })} />
          {t("retrieval.threshold")}
          <input
            id={`${idPrefix}-threshold`}
            type="number"
            min={0}
            max={1}
            step={0.05}
            style={{ width: 80 }}
            disabled={!value.score_threshold_enabled}
            value={value.score_threshold ?? 0.5}
            onChange={(e) => set({ score_threshold: Math.min(1, Math.max(0, Number(e.target.value))) })}
          />
        </div>
      </div>
      {value.search_method === "hybrid_search" ? (
        <div className="row small">
          <label className="row">
            <input type="radio" name={`${idPrefix}-hybrid`} checked={!useWeights} onChange={() => set({ reranking_mode: "reranking_model", weights: null })} />
            {t("retrieval.rerank")}
          </label>
          <label className="row">
            <input type="radio" name={`${idPrefix}-hybrid`} checked={useWeights} onChange={() => set({ reranking_mode: "weighted_score", reranking_enable: false, weights: hybridWeights(semantic) })} />
            {t("retrieval.weights")}
          </label>
        </div>
      ) : null}
      {useWeights ? (
        <label className="row small">
          {t("retrieval.semanticWeight")}
          <input type="range" min={0} max={1} step={0.1} value={semantic} onChange={(e) => set({ weights: hybridWeights(Number(e.target.value)) })} />
          <span className="mono">
            {semantic.toFixed(1)} / {(1 - semantic).toFixed(1)}
          </span>
        </label>
      ) : (
        <label className="field">
          <span>{t("retrieval.rerank")}</span>
          <ModelSelect
            type="rerank"
            value={rerank}
            emptyLabel={t("retrieval.rerankOff")}
            onChange={(m) =>
              set({
                reranking_enable: m !== null,
                reranking_mode: m ? "reranking_model" : value.reranking_mode,
                reranking_model: { reranking_provider_name: m?.provider ?? "", reranking_model_name: m?.model ?? "" },
              })
            }
          />
        </label>
      )}
    </div>
  );
}

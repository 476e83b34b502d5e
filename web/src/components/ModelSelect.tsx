import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/client";
import type { ProviderWithModels } from "../api/models";
import { localized } from "../lib/params";

const cache = new Map<string, Promise<ProviderWithModels[]>>();

/** The configured (active) providers' models of one type; fetched once per page load and type. */
export function useModels(type: string): ProviderWithModels[] | null {
  const [list, setList] = useState<ProviderWithModels[] | null>(null);
  useEffect(() => {
    let found = cache.get(type);
    if (!found) {
      found = api<{ data: ProviderWithModels[] }>("get", "/console/api/workspaces/current/models/model-types/{model_type}", { path: { model_type: type } })
        .then((r) => r.data.filter((p) => p.status === "active"))
        .catch(() => {
          cache.delete(type);
          return [];
        });
      cache.set(type, found);
    }
    let live = true;
    void found.then((l) => live && setList(l));
    return () => {
      live = false;
    };
  }, [type]);
  return list;
}

/** Forget cached model lists (after providers change). */
export function resetModelCache(): void {
  cache.clear();
}

export interface ModelChoice {
  provider: string;
  model: string;
}

/** A select over the configured models of `type`; the empty option means "none" (or the default). */
export function ModelSelect({
  id,
  type,
  value,
  onChange,
  emptyLabel,
  testId,
}: {
  id?: string;
  type: string;
  value: ModelChoice | null;
  onChange: (value: ModelChoice | null) => void;
  emptyLabel: string;
  testId?: string;
}) {
  const { i18n } = useTranslation();
  const models = useModels(type) ?? [];
  const current = value && value.model ? `${value.provider}\u0000${value.model}` : "";
  return (
    <select
      id={id}
      data-testid={testId}
      value={current}
      onChange={(e) => {
        const [provider = "", model = ""] = e.target.value.split("\u0000");
        onChange(model ? { provider, model } : null);
      }}
    >
      <option value="">{emptyLabel}</option>
      {current && !models.some((p) => p.provider === value?.provider && p.models.some((m) => m.model === value.model)) ? (
        <option value={current}>{`${value?.provider} / ${value?.model}`}</option>
      ) : null}
      {models.map((p) => (
        <optgroup key={p.provider} label={localized(p.label, i18n.language) || p.provider}>
          {p.models.map((m) => (
            <option key={m.model} value={`${p.provider}\u0000${m.model}`}>
              {localized(m.label, i18n.language) || m.model}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}

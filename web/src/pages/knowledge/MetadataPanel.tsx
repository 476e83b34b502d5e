import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import { toFormError, type FormError } from "../../components/errors";
import { Field, FormAlert } from "../../components/Field";
import { ErrorBox, Loading } from "../../components/ui";
import { BUILT_IN_FIELDS, METADATA_TYPES, type MetadataField, type MetadataList, type MetadataType } from "./metadata";

const NAME_FIELDS = ["name", "type"] as const;

/** One field of the list: shown, renamed in place, or deleted after a confirmation. */
function FieldRow({ datasetId, field, onChanged }: { datasetId: string; field: MetadataField; onChanged: () => Promise<void> }) {
  const { t } = useTranslation();
  const [mode, setMode] = useState<"view" | "rename" | "delete">("view");
  const [name, setName] = useState(field.name);
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const path = { dataset_id: datasetId, metadata_id: field.id };
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      setMode("view");
      await onChanged();
    } catch (e) {
      setError(toFormError(e, t, ["name"]));
    } finally {
      setBusy(false);
    }
  };
  const inputId = `metadata-rename-${field.id}`;
  return (
    <li className="stack" style={{ gap: 6 }} data-testid="metadata-field" data-name={field.name}>
      {mode === "rename" ? (
        <div className="row" style={{ alignItems: "flex-start" }}>
          <div className="grow">
            <Field id={inputId} label={t("metadata.newName")} error={error?.field === "name" ? error.message : null}>
              <input id={inputId} type="text" value={name} autoFocus data-testid="metadata-rename-input" onChange={(e) => setName(e.target.value)} />
            </Field>
          </div>
          <button
            type="button"
            className="btn btn-primary btn-small"
            disabled={busy || !name.trim()}
            data-testid="metadata-rename-save"
            onClick={() => void run(() => api("patch", "/console/api/datasets/{dataset_id}/metadata/{metadata_id}", { path, body: { name: name.trim() } }))}
          >
            {t("common.save")}
          </button>
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              setMode("view");
              setName(field.name);
              setError(null);
            }}
          >
            {t("common.cancel")}
          </button>
        </div>
      ) : (
        <div className="row-between">
          <span className="row">
            <strong data-testid="metadata-field-name">{field.name}</strong>
            <span className="badge badge-blue">{t(`metadata.types.${field.type}`)}</span>
            <span className="muted small">{t("metadata.count", { count: field.count })}</span>
          </span>
          <span className="row">
            <button type="button" className="btn btn-ghost btn-small" data-testid="metadata-rename" onClick={() => setMode("rename")}>
              {t("metadata.rename")}
            </button>
            <button type="button" className="btn btn-danger btn-small" data-testid="metadata-delete" onClick={() => setMode("delete")}>
              {t("common.delete")}
            </button>
          </span>
        </div>
      )}
      {mode === "delete" ? (
        <div className="notice row-between" data-testid="metadata-delete-confirm">
          <span>{t("metadata.confirmDelete", { name: field.name, count: field.count })}</span>
          <span className="row">
            <button type="button" className="btn btn-small" onClick={() => setMode("view")}>
              {t("common.cancel")}
            </button>
            <button
              type="button"
              className="btn btn-danger btn-small"
              disabled={busy}
              data-testid="metadata-delete-yes"
              onClick={() => void run(() => api("delete", "/console/api/datasets/{dataset_id}/metadata/{metadata_id}", { path }))}
            >
              {t("common.delete")}
            </button>
          </span>
        </div>
      ) : null}
      <FormAlert error={error} />
    </li>
  );
}

/**
 * A knowledge base's metadata fields: add (name and type), rename, delete; and the switch for the
 * built-in fields. Each error shows beside the control that caused it.
 */
export function MetadataPanel({ datasetId }: { datasetId: string }) {
  const { t } = useTranslation();
  const [list, setList] = useState<MetadataList | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [type, setType] = useState<MetadataType>("string");
  const [addError, setAddError] = useState<FormError | null>(null);
  const [adding, setAdding] = useState(false);
  const [builtInError, setBuiltInError] = useState<unknown>(null);

  // Changes in quick succession each reload the list; only the latest answer is shown, so a slow
  // earlier one cannot put back a state from before the last change.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const request = ++latest.current;
    try {
      const loaded = await api<MetadataList>("get", "/console/api/datasets/{dataset_id}/metadata", { path: { dataset_id: datasetId } });
      if (request !== latest.current) return;
      setList(loaded);
      setLoadError(null);
    } catch (e) {
      if (request === latest.current) setLoadError(e);
    }
  }, [datasetId]);
  useEffect(() => {
    void load();
  }, [load]);

  const add = async () => {
    setAdding(true);
    setAddError(null);
    try {
      await api("post", "/console/api/datasets/{dataset_id}/metadata", { path: { dataset_id: datasetId }, body: { name: name.trim(), type } });
      setName("");
      await load();
    } catch (e) {
      setAddError(toFormError(e, t, NAME_FIELDS));
    } finally {
      setAdding(false);
    }
  };

  const toggleBuiltIn = async (enable: boolean) => {
    setBuiltInError(null);
    // Shown switched at once; a refusal puts back what the server holds.
    latest.current += 1;
    setList((current) => (current ? { ...current, built_in_field_enabled: enable } : current));
    try {
      await api("post", "/console/api/datasets/{dataset_id}/metadata/built-in/{action}", {
        path: { dataset_id: datasetId, action: enable ? "enable" : "disable" },
      });
    } catch (e) {
      setBuiltInError(e);
    }
    await load();
  };

  return (
    <section className="panel stack" data-testid="metadata">
      <h2>{t("metadata.title")}</h2>
      <p className="muted small">{t("metadata.hint")}</p>
      <ErrorBox error={loadError} />
      {list === null ? (
        loadError ? null : <Loading />
      ) : (
        <>
          {list.doc_metadata.length === 0 ? (
            <p className="muted small">{t("metadata.none")}</p>
          ) : (
            <ul className="stack" style={{ listStyle: "none", padding: 0, margin: 0 }} data-testid="metadata-fields">
              {list.doc_metadata.map((field) => (
                <FieldRow key={`${field.id}:${field.name}`} datasetId={datasetId} field={field} onChanged={load} />
              ))}
            </ul>
          )}
          <form
            className="row"
            style={{ alignItems: "flex-end" }}
            data-testid="metadata-add-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (name.trim()) void add();
            }}
          >
            <div className="grow">
              <Field id="metadata-new-name" label={t("metadata.name")} error={addError?.field === "name" ? addError.message : null}>
                <input
                  id="metadata-new-name"
                  type="text"
                  value={name}
                  data-testid="metadata-new-name"
                  onChange={(e) => {
                    setName(e.target.value);
                    setAddError(null);
                  }}
                />
              </Field>
            </div>
            <Field id="metadata-new-type" label={t("metadata.type")} error={addError?.field === "type" ? addError.message : null}>
              <select id="metadata-new-type" value={type} data-testid="metadata-new-type" onChange={(e) => setType(e.target.value as MetadataType)}>
                {METADATA_TYPES.map((kind) => (
                  <option key={kind} value={kind}>
                    {t(`metadata.types.${kind}`)}
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" className="btn btn-primary" disabled={adding || !name.trim()} data-testid="metadata-add">
              + {t("metadata.add")}
            </button>
          </form>
          <FormAlert error={addError} />
          <div className="stack" style={{ gap: 6 }}>
            <label className="row small">
              <input
                type="checkbox"
                checked={list.built_in_field_enabled}
                data-testid="metadata-built-in"
                onChange={(e) => void toggleBuiltIn(e.target.checked)}
              />
              {t("metadata.builtIn")}
            </label>
            {list.built_in_field_enabled ? (
              <div className="row wrap" data-testid="metadata-built-in-fields">
                {BUILT_IN_FIELDS.map((key) => (
                  <span key={key} className="badge">
                    {t(`metadata.builtInFields.${key}`)}
                  </span>
                ))}
              </div>
            ) : null}
            <ErrorBox error={builtInError} />
          </div>
        </>
      )}
    </section>
  );
}

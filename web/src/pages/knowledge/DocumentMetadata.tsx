import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import { toFormError, type FormError } from "../../components/errors";
import { FormAlert } from "../../components/Field";
import { ErrorBox, formatTime, Loading } from "../../components/ui";
import { BUILT_IN_ID, fromInput, toInput, type MetadataField, type MetadataList, type MetadataType, type MetadataValue } from "./metadata";

const INPUT_TYPE: Record<MetadataType, string> = { string: "text", number: "number", time: "datetime-local" };

function shown(type: MetadataType, value: string | number | null, language: string): string {
  if (value === null || value === "") return "—";
  return type === "time" && typeof value === "number" ? formatTime(value, language) : String(value);
}

/**
 * A document's metadata: the values it holds for its knowledge base's fields, edited with an input
 * of each field's type (text, number, date and time), plus the built-in values when they are on.
 */
export function DocumentMetadata({ datasetId, documentId }: { datasetId: string; documentId: string }) {
  const { t, i18n } = useTranslation();
  const [fields, setFields] = useState<MetadataField[] | null>(null);
  const [values, setValues] = useState<MetadataValue[]>([]);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const [saveError, setSaveError] = useState<FormError | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  const load = useCallback(async () => {
    try {
      const [list, doc] = await Promise.all([
        api<MetadataList>("get", "/console/api/datasets/{dataset_id}/metadata", { path: { dataset_id: datasetId } }),
        api<{ doc_metadata: MetadataValue[] | null }>("get", "/console/api/datasets/{dataset_id}/documents/{document_id}", {
          path: { dataset_id: datasetId, document_id: documentId },
          query: { metadata: "only" },
        }),
      ]);
      setFields(list.doc_metadata);
      setValues(doc.doc_metadata ?? []);
      setLoadError(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [datasetId, documentId]);
  useEffect(() => {
    void load();
  }, [load]);

  const valueOf = (field: MetadataField) => values.find((v) => v.id === field.id)?.value ?? null;
  const builtIns = values.filter((v) => v.id === BUILT_IN_ID);

  const startEditing = () => {
    setDraft(Object.fromEntries((fields ?? []).map((f) => [f.id, toInput(f.type, valueOf(f))])));
    setInvalid({});
    setSaveError(null);
    setSaved(false);
    setEditing(true);
  };

  const save = async () => {
    const problems: Record<string, string> = {};
    const items: { id: string; name: string; value: string | number }[] = [];
    for (const field of fields ?? []) {
      const value = fromInput(field.type, draft[field.id] ?? "");
      if (value === null) problems[field.id] = t(field.type === "number" ? "metadata.notNumber" : "metadata.notTime");
      else if (value !== undefined) items.push({ id: field.id, name: field.name, value });
    }
    setInvalid(problems);
    if (Object.keys(problems).length > 0) return;
    setSaving(true);
    setSaveError(null);
    try {
      await api("post", "/console/api/datasets/{dataset_id}/documents/metadata", {
        path: { dataset_id: datasetId },
        body: { operation_data: [{ document_id: documentId, metadata_list: items, partial_update: false }] },
      });
      setEditing(false);
      setSaved(true);
      await load();
    } catch (e) {
      setSaveError(toFormError(e, t));
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="panel stack" data-testid="document-metadata">
      <div className="row-between">
        <h2>{t("metadata.title")}</h2>
        {fields && fields.length > 0 && !editing ? (
          <button type="button" className="btn btn-small" data-testid="document-metadata-edit" onClick={startEditing}>
            {t("metadata.edit")}
          </button>
        ) : null}
      </div>
      <ErrorBox error={loadError} />
      {fields === null ? (
        loadError ? null : <Loading />
      ) : fields.length === 0 ? (
        <p className="muted small">{t("metadata.noFields")}</p>
      ) : editing ? (
        <form
          className="stack"
          data-testid="document-metadata-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          {fields.map((field) => {
            const id = `doc-metadata-${field.id}`;
            return (
              <div key={field.id} className={invalid[field.id] ? "field field-invalid" : "field"}>
                <label htmlFor={id}>
                  {field.name} <span className="muted small">({t(`metadata.types.${field.type}`)})</span>
                </label>
                <input
                  id={id}
                  type={INPUT_TYPE[field.type]}
                  step={field.type === "number" ? "any" : undefined}
                  value={draft[field.id] ?? ""}
                  data-testid="document-metadata-input"
                  data-name={field.name}
                  aria-invalid={invalid[field.id] ? true : undefined}
                  onChange={(e) => setDraft({ ...draft, [field.id]: e.target.value })}
                />
                {invalid[field.id] ? (
                  <p className="field-error" role="alert">
                    {invalid[field.id]}
                  </p>
                ) : null}
              </div>
            );
          })}
          <p className="field-hint">{t("metadata.emptyHint")}</p>
          <FormAlert error={saveError} />
          <div className="row">
            <button type="submit" className="btn btn-primary" disabled={saving} data-testid="document-metadata-save">
              {t("common.save")}
            </button>
            <button type="button" className="btn" onClick={() => setEditing(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </form>
      ) : (
        <table className="table" data-testid="document-metadata-values">
          <tbody>
            {fields.map((field) => (
              <tr key={field.id} data-name={field.name}>
                <th scope="row" style={{ width: "30%" }}>
                  {field.name}
                </th>
                <td data-testid="document-metadata-value">{shown(field.type, valueOf(field), i18n.language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {saved && !editing ? <div className="success">{t("metadata.saved")}</div> : null}
      {builtIns.length > 0 ? (
        <div className="stack" style={{ gap: 4 }} data-testid="document-metadata-built-in">
          <span className="muted small">{t("metadata.builtInValues")}</span>
          {builtIns.map((v) => (
            <div key={v.name} className="row small">
              <span className="muted">{t(`metadata.builtInFields.${v.name}`, { defaultValue: v.name })}</span>
              <span>{shown(v.type, v.value, i18n.language)}</span>
            </div>
          ))}
        </div>
      ) : null}
    </section>
  );
}

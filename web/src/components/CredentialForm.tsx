import { useTranslation } from "react-i18next";
import type { CredentialFormSchema } from "../api/models";
import { localized } from "../lib/params";
import { Field } from "./Field";

/** Whether a schema (or option) shows for the current values (Dify's `show_on`). */
function shown(rules: { variable: string; value: string }[] | undefined, values: Record<string, string>): boolean {
  return !rules || rules.length === 0 || rules.every((r) => values[r.variable] === r.value);
}

/** A provider's credential form, generated from its `credential_form_schemas`. */
export function CredentialForm({
  schemas,
  values,
  onChange,
  errorField,
  errorMessage,
}: {
  schemas: CredentialFormSchema[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  errorField: string | null;
  errorMessage: string | null;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <div className="stack" data-testid="credential-form">
      {schemas
        .filter((s) => shown(s.show_on, values))
        .map((schema) => {
          const id = `cred-${schema.variable}`;
          const value = values[schema.variable] ?? "";
          const set = (v: string) => onChange({ ...values, [schema.variable]: v });
          const label = `${localized(schema.label, lang) || schema.variable}${schema.required ? " *" : ""}`;
          const error = errorField === schema.variable ? errorMessage : null;
          let control;
          if (schema.type === "select" || schema.type === "radio") {
            control = (
              <select id={id} value={value} onChange={(e) => set(e.target.value)}>
                {!schema.required ? <option value="">{t("common.none")}</option> : null}
                {(schema.options ?? [])
                  .filter((o) => shown(o.show_on, values))
                  .map((o) => (
                    <option key={o.value} value={o.value}>
                      {localized(o.label, lang) || o.value}
                    </option>
                  ))}
              </select>
            );
          } else if (schema.type === "switch") {
            control = (
              <select id={id} value={value} onChange={(e) => set(e.target.value)}>
                <option value="true">{t("common.yes")}</option>
                <option value="false">{t("common.no")}</option>
              </select>
            );
          } else {
            control = (
              <input
                id={id}
                name={schema.variable}
                type={schema.type === "secret-input" ? "password" : "text"}
                autoComplete="off"
                value={value}
                placeholder={localized(schema.placeholder ?? undefined, lang)}
                maxLength={schema.max_length || undefined}
                aria-invalid={error ? true : undefined}
                onChange={(e) => set(e.target.value)}
              />
            );
          }
          return (
            <Field key={schema.variable} id={id} label={label} error={error}>
              {control}
            </Field>
          );
        })}
    </div>
  );
}

/** Starting values: each schema's default (selects fall back to their first option). */
export function credentialDefaults(schemas: CredentialFormSchema[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const s of schemas) {
    if (s.default !== undefined && s.default !== null) values[s.variable] = String(s.default);
    else if ((s.type === "select" || s.type === "radio") && s.required && s.options?.[0]) values[s.variable] = s.options[0].value;
  }
  return values;
}

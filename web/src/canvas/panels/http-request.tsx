import { useTranslation } from "react-i18next";
import { Section, TemplateField, type PanelProps } from "./fields";

const METHODS = ["get", "post", "put", "patch", "delete", "head"];
const BODY_TYPES = ["none", "json", "raw-text", "x-www-form-urlencoded", "form-data"];

/** HTTP request: method, URL, headers and params (one `key:value` per line), body, authorization. */
export function HttpRequestPanel({ node, update, ctx }: PanelProps) {
  const { t } = useTranslation("canvas");
  const d = node.data;
  const body = (d.body as { type?: string; data?: unknown } | undefined) ?? { type: "none", data: [] };
  const auth = (d.authorization as { type?: string; config?: { type?: string; api_key?: string; header?: string } | null } | undefined) ?? { type: "no-auth" };
  const rawBody = Array.isArray(body.data) ? String((body.data[0] as { value?: string } | undefined)?.value ?? "") : String(body.data ?? "");
  return (
    <>
      <Section title={t("panel.request")}>
        <div className="wf-row">
          <select value={String(d.method ?? "get")} aria-label={t("panel.method")} data-testid="http-method" onChange={(e) => update({ method: e.target.value })}>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m.toUpperCase()}
              </option>
            ))}
          </select>
        </div>
        <TemplateField value={String(d.url ?? "")} groups={ctx.groups} rows={1} placeholder="https://" testId="http-url" onChange={(url) => update({ url })} />
      </Section>
      <Section title={t("panel.authorization")}>
        <select value={auth.type ?? "no-auth"} aria-label={t("panel.authorization")} onChange={(e) => update({ authorization: e.target.value === "no-auth" ? { type: "no-auth", config: null } : { type: "api-key", config: { type: "bearer", api_key: "", header: "" } } })}>
          <option value="no-auth">{t("panel.noAuth")}</option>
          <option value="api-key">API key</option>
        </select>
        {auth.type === "api-key" ? (
          <div className="wf-row">
            <select value={auth.config?.type ?? "bearer"} aria-label={t("panel.authType")} onChange={(e) => update({ authorization: { ...auth, config: { ...auth.config, type: e.target.value } } })}>
              <option value="bearer">Bearer</option>
              <option value="basic">Basic</option>
              <option value="custom">Custom</option>
            </select>
            <input type="password" value={auth.config?.api_key ?? ""} placeholder="API key" aria-label="API key" onChange={(e) => update({ authorization: { ...auth, config: { ...auth.config, api_key: e.target.value } } })} />
          </div>
        ) : null}
      </Section>
      <Section title={t("panel.headers")}>
        <TemplateField value={String(d.headers ?? "")} groups={ctx.groups} rows={2} placeholder="Content-Type: application/json" onChange={(headers) => update({ headers })} />
      </Section>
      <Section title={t("panel.params")}>
        <TemplateField value={String(d.params ?? "")} groups={ctx.groups} rows={2} placeholder="key: value" onChange={(params) => update({ params })} />
      </Section>
      <Section title={t("panel.body")}>
        <select value={body.type ?? "none"} aria-label={t("panel.body")} onChange={(e) => update({ body: { type: e.target.value, data: e.target.value === "none" ? [] : [{ id: "body", key: "", type: "text", value: rawBody }] } })}>
          {BODY_TYPES.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
        {body.type && body.type !== "none" ? (
          <TemplateField value={rawBody} groups={ctx.groups} rows={4} onChange={(value) => update({ body: { type: body.type, data: [{ id: "body", key: "", type: "text", value }] } })} />
        ) : null}
      </Section>
    </>
  );
}

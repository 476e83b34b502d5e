import { useCallback, useEffect, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../../api/client";
import type { CredentialFormSchema, ToolProvider } from "../../api/models";
import { credentialDefaults, CredentialForm } from "../../components/CredentialForm";
import { toFormError, type FormError } from "../../components/errors";
import { Field, FormAlert } from "../../components/Field";
import { ErrorBox, Loading, Modal } from "../../components/ui";
import { localized } from "../../lib/params";

interface Operation {
  server_url: string;
  method: string;
  summary: string | null;
  operation_id: string;
  parameters: { name: string; required: boolean; type: string }[];
}

/** Settings → Tools: built-in providers' credentials, OpenAPI providers and MCP servers. */
export function ToolsSettings() {
  const { t, i18n } = useTranslation();
  const [providers, setProviders] = useState<ToolProvider[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [authorizing, setAuthorizing] = useState<ToolProvider | null>(null);
  const [apiEditing, setApiEditing] = useState<ToolProvider | "new" | null>(null);
  const [mcpAdding, setMcpAdding] = useState(false);
  const load = useCallback(async () => {
    try {
      setProviders(await api<ToolProvider[]>("get", "/console/api/workspaces/current/tool-providers"));
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e);
    }
  };
  if (!providers) return error ? <ErrorBox error={error} /> : <Loading />;
  const of = (type: string) => providers.filter((p) => p.type === type);
  const card = (p: ToolProvider, actions: ReactNode) => (
    <div key={`${p.type}/${p.id}`} className="card app-card" data-tool-provider={p.name}>
      <div className="app-card-title">
        <span className="app-icon" style={{ background: "#f2f4f7" }}>
          🛠
        </span>
        <span className="grow">{localized(p.label, i18n.language) || p.name}</span>
        {p.is_team_authorization ? <span className="badge badge-green">{t("toolSettings.authorized")}</span> : null}
      </div>
      <div className="app-card-desc">{localized(p.description, i18n.language)}</div>
      <div className="row-between">
        <span className="muted small nowrap">{t("toolSettings.toolsCount", { count: p.tools.length })}</span>
        <div className="row wrap" style={{ justifyContent: "flex-end" }}>
          {actions}
        </div>
      </div>
    </div>
  );
  return (
    <div className="stack" data-testid="tools-settings">
      <ErrorBox error={error} />
      <h2>{t("toolSettings.builtin")}</h2>
      <div className="grid-cards">
        {/* `allow_delete` is set for built-in providers that take credentials; the others have nothing to set. */}
        {of("builtin").map((p) =>
          card(
            p,
            p.allow_delete ? (
              <>
                <button type="button" className="btn btn-small" data-testid={`authorize-${p.name}`} onClick={() => setAuthorizing(p)}>
                  {t("toolSettings.authorize")}
                </button>
                {p.is_team_authorization ? (
                  <button type="button" className="btn btn-ghost btn-small" onClick={() => void act(() => api("post", "/console/api/workspaces/current/tool-provider/builtin/{provider}/delete", { path: { provider: p.name } }))}>
                    {t("toolSettings.removeCredentials")}
                  </button>
                ) : null}
              </>
            ) : null,
          ),
        )}
      </div>
      <div className="row-between">
        <h2>{t("toolSettings.api")}</h2>
        <button type="button" className="btn btn-primary btn-small" data-testid="add-api-provider" onClick={() => setApiEditing("new")}>
          + {t("toolSettings.addApi")}
        </button>
      </div>
      {of("api").length === 0 ? <p className="muted small">{t("toolSettings.noProviders")}</p> : null}
      <div className="grid-cards" data-testid="api-providers">
        {of("api").map((p) =>
          card(
            p,
            <>
              <button type="button" className="btn btn-small" onClick={() => setApiEditing(p)}>
                ✎
              </button>
              <button type="button" className="btn btn-danger btn-small" onClick={() => void act(() => api("post", "/console/api/workspaces/current/tool-provider/api/delete", { body: { provider: p.name } }))}>
                {t("toolSettings.delete")}
              </button>
            </>,
          ),
        )}
      </div>
      <div className="row-between">
        <h2>{t("toolSettings.mcp")}</h2>
        <button type="button" className="btn btn-primary btn-small" data-testid="add-mcp-provider" onClick={() => setMcpAdding(true)}>
          + {t("toolSettings.addMcp")}
        </button>
      </div>
      {of("mcp").length === 0 ? <p className="muted small">{t("toolSettings.noProviders")}</p> : null}
      <div className="grid-cards" data-testid="mcp-providers">
        {of("mcp").map((p) =>
          card(
            p,
            <>
              <button type="button" className="btn btn-small" onClick={() => void act(() => api("get", "/console/api/workspaces/current/tool-provider/mcp/update/{provider_id}", { path: { provider_id: p.id } }))}>
                {t("toolSettings.refresh")}
              </button>
              <button type="button" className="btn btn-danger btn-small" onClick={() => void act(() => api("delete", "/console/api/workspaces/current/tool-provider/mcp", { body: { provider_id: p.id } }))}>
                {t("toolSettings.delete")}
              </button>
            </>,
          ),
        )}
      </div>
      {authorizing ? <BuiltinCredentials provider={authorizing} onClose={() => setAuthorizing(null)} onSaved={() => { setAuthorizing(null); void load(); }} /> : null}
      {apiEditing ? <ApiProviderModal provider={apiEditing === "new" ? null : apiEditing} onClose={() => setApiEditing(null)} onSaved={() => { setApiEditing(null); void load(); }} /> : null}
      {mcpAdding ? <McpModal onClose={() => setMcpAdding(false)} onSaved={() => { setMcpAdding(false); void load(); }} /> : null}
    </div>
  );
}

function BuiltinCredentials({ provider, onClose, onSaved }: { provider: ToolProvider; onClose: () => void; onSaved: () => void }) {
  const { t, i18n } = useTranslation();
  const [schemas, setSchemas] = useState<CredentialFormSchema[] | null>(null);
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<FormError | null>(null);
  useEffect(() => {
    const path = { provider: provider.name };
    Promise.all([
      api<CredentialFormSchema[]>("get", "/console/api/workspaces/current/tool-provider/builtin/{provider}/credentials_schema", { path }),
      api<Record<string, unknown>>("get", "/console/api/workspaces/current/tool-provider/builtin/{provider}/credentials", { path }),
    ])
      .then(([s, stored]) => {
        setSchemas(s);
        setValues({ ...credentialDefaults(s), ...Object.fromEntries(Object.entries(stored ?? {}).map(([k, v]) => [k, String(v ?? "")])) });
      })
      .catch((e: unknown) => setError(toFormError(e, t)));
  }, [provider.name, t]);
  const save = async () => {
    setError(null);
    try {
      await api("post", "/console/api/workspaces/current/tool-provider/builtin/{provider}/update", { path: { provider: provider.name }, body: { credentials: values } });
      onSaved();
    } catch (e) {
      setError(toFormError(e, t, (schemas ?? []).map((s) => s.variable)));
    }
  };
  return (
    <Modal
      title={t("toolSettings.credentialsTitle", { name: localized(provider.label, i18n.language) || provider.name })}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="tool-credentials-save" disabled={!schemas} onClick={() => void save()}>
            {t("common.save")}
          </button>
        </>
      }
    >
      {schemas === null ? <Loading /> : schemas.length === 0 ? <p className="muted">{t("toolSettings.noCredentials")}</p> : null}
      {schemas ? <CredentialForm schemas={schemas} values={values} onChange={setValues} errorField={error?.field ?? null} errorMessage={error?.message ?? null} /> : null}
      <FormAlert error={error} />
    </Modal>
  );
}

function ApiProviderModal({ provider, onClose, onSaved }: { provider: ToolProvider | null; onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState(provider?.name ?? "");
  const [schema, setSchema] = useState("");
  const [url, setUrl] = useState("");
  const [operations, setOperations] = useState<Operation[] | null>(null);
  const [authType, setAuthType] = useState("none");
  const [header, setHeader] = useState("Authorization");
  const [key, setKey] = useState("");
  const [error, setError] = useState<FormError | null>(null);
  const [testing, setTesting] = useState<Operation | null>(null);
  const credentials = (): Record<string, string> => (authType === "none" ? { auth_type: "none" } : { auth_type: authType, api_key_header: header, api_key_value: key });
  const parse = async (text = schema) => {
    setError(null);
    try {
      setOperations((await api<{ parameters_schema: Operation[] }>("post", "/console/api/workspaces/current/tool-provider/api/schema", { body: { schema: text } as never })).parameters_schema);
    } catch (e) {
      setOperations(null);
      setError(toFormError(e, t, ["schema"]));
    }
  };
  useEffect(() => {
    if (!provider) return;
    api<{ schema: string; credentials: Record<string, string> }>("get", "/console/api/workspaces/current/tool-provider/api/get", { query: { provider: provider.name } })
      .then((r) => {
        setSchema(r.schema);
        setAuthType(r.credentials.auth_type ?? "none");
        setHeader(r.credentials.api_key_header ?? "Authorization");
        setKey(r.credentials.api_key_value ?? "");
        void parse(r.schema);
      })
      .catch((e: unknown) => setError(toFormError(e, t)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [provider?.name]);
  const fetchUrl = async () => {
    setError(null);
    try {
      const r = await api<{ schema: string }>("get", "/console/api/workspaces/current/tool-provider/api/remote", { query: { url } });
      setSchema(r.schema);
      await parse(r.schema);
    } catch (e) {
      setError(toFormError(e, t, ["url"]));
    }
  };
  const save = async () => {
    setError(null);
    try {
      const body = { provider: name, schema, schema_type: "openapi", credentials: credentials(), icon: { content: "🛠", background: "#f2f4f7" }, original_provider: provider?.name };
      await api("post", provider ? "/console/api/workspaces/current/tool-provider/api/update" : "/console/api/workspaces/current/tool-provider/api/add", { body: body as never });
      onSaved();
    } catch (e) {
      setError(toFormError(e, t, ["provider", "schema", "credentials", "api_key_value"]));
    }
  };
  return (
    <Modal
      wide
      title={provider ? t("toolSettings.editApi") : t("toolSettings.addApi")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="api-provider-save" disabled={!name.trim() || !schema.trim()} onClick={() => void save()}>
            {t("common.save")}
          </button>
        </>
      }
    >
      <Field id="api-name" label={t("toolSettings.name")} error={error?.field === "provider" ? error.message : null}>
        <input id="api-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <div className="row">
        <input type="url" className="grow" aria-label={t("toolSettings.fromUrl")} placeholder="https://…/openapi.json" value={url} onChange={(e) => setUrl(e.target.value)} />
        <button type="button" className="btn btn-small" disabled={!url} onClick={() => void fetchUrl()}>
          {t("toolSettings.fromUrl")}
        </button>
      </div>
      <Field id="api-schema" label={t("toolSettings.schema")} error={error?.field === "schema" ? error.message : null}>
        <textarea id="api-schema" rows={10} className="mono" value={schema} onChange={(e) => setSchema(e.target.value)} onBlur={() => schema.trim() && void parse()} />
      </Field>
      <div>
        <button type="button" className="btn btn-small" data-testid="api-schema-parse" disabled={!schema.trim()} onClick={() => void parse()}>
          {t("toolSettings.parse")}
        </button>
      </div>
      {operations ? (
        <div className="table-wrap">
          <table className="table" data-testid="api-operations">
            <thead>
              <tr>
                <th>{t("toolSettings.path")}</th>
                <th>{t("toolSettings.method")}</th>
                <th>{t("toolSettings.params")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {operations.map((op) => (
                <tr key={op.operation_id}>
                  <td>
                    <strong>{op.operation_id}</strong>
                    <div className="muted small">{op.summary}</div>
                  </td>
                  <td>
                    <span className="badge">{op.method.toUpperCase()}</span>
                  </td>
                  <td className="small">{op.parameters.map((p) => p.name).join(", ") || "—"}</td>
                  <td>
                    <button type="button" className="btn btn-small" data-testid={`test-${op.operation_id}`} onClick={() => setTesting(op)}>
                      {t("toolSettings.test")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Field id="api-auth" label={t("toolSettings.auth")}>
        <select id="api-auth" value={authType} onChange={(e) => setAuthType(e.target.value)}>
          <option value="none">{t("toolSettings.authTypes.none")}</option>
          <option value="api_key">{t("toolSettings.authTypes.api_key")}</option>
        </select>
      </Field>
      {authType !== "none" ? (
        <div className="row">
          <input type="text" aria-label={t("toolSettings.header")} placeholder={t("toolSettings.header")} value={header} onChange={(e) => setHeader(e.target.value)} />
          <input type="password" aria-label={t("toolSettings.key")} placeholder={t("toolSettings.key")} value={key} onChange={(e) => setKey(e.target.value)} />
        </div>
      ) : null}
      <FormAlert error={error} />
      {testing ? <ApiTest op={testing} schema={schema} provider={provider?.name ?? name} credentials={credentials()} onClose={() => setTesting(null)} /> : null}
    </Modal>
  );
}

function ApiTest({ op, schema, provider, credentials, onClose }: { op: Operation; schema: string; provider: string; credentials: Record<string, string>; onClose: () => void }) {
  const { t } = useTranslation();
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setError(null);
    setResult(null);
    try {
      const r = await api<{ result?: string; error?: string }>("post", "/console/api/workspaces/current/tool-provider/api/test/pre", {
        body: { tool_name: op.operation_id, provider_name: provider, credentials, parameters: values, schema_type: "openapi", schema } as never,
      });
      setResult(r.error ? `⚠ ${r.error}` : (r.result ?? ""));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Modal
      title={t("toolSettings.testTitle", { name: op.operation_id })}
      onClose={onClose}
      footer={
        <button type="button" className="btn btn-primary" data-testid="api-test-run" onClick={() => void run()}>
          {t("toolSettings.test")}
        </button>
      }
    >
      {op.parameters.map((p) => (
        <Field key={p.name} id={`test-${p.name}`} label={`${p.name}${p.required ? " *" : ""}`}>
          <input id={`test-${p.name}`} type="text" value={values[p.name] ?? ""} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })} />
        </Field>
      ))}
      <ErrorBox error={error} />
      {result !== null ? (
        <div className="stack" style={{ gap: 4 }}>
          <strong>{t("toolSettings.testResult")}</strong>
          <pre className="code-block small" data-testid="api-test-result">
            {result}
          </pre>
        </div>
      ) : null}
    </Modal>
  );
}

function McpModal({ onClose, onSaved }: { onClose: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [identifier, setIdentifier] = useState("");
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      await api("post", "/console/api/workspaces/current/tool-provider/mcp", { body: { name, server_url: url, server_identifier: identifier, icon: "🔌" } });
      onSaved();
    } catch (e) {
      setError(toFormError(e, t, ["name", "server_url", "server_identifier"]));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={t("toolSettings.addMcp")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="mcp-save" disabled={busy || !name || !url || !identifier} onClick={() => void save()}>
            {t("common.save")}
          </button>
        </>
      }
    >
      <Field id="mcp-name" label={t("toolSettings.name")} error={error?.field === "name" ? error.message : null}>
        <input id="mcp-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field id="mcp-url" label={t("toolSettings.serverUrl")} error={error?.field === "server_url" ? error.message : null}>
        <input id="mcp-url" type="url" value={url} placeholder="https://…/mcp" onChange={(e) => setUrl(e.target.value)} />
      </Field>
      <Field id="mcp-identifier" label={t("toolSettings.identifier")} hint={t("toolSettings.identifierHint")} error={error?.field === "server_identifier" ? error.message : null}>
        <input id="mcp-identifier" type="text" value={identifier} onChange={(e) => setIdentifier(e.target.value)} />
      </Field>
      <FormAlert error={error} />
    </Modal>
  );
}

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, useParams } from "react-router";
import { api } from "../api/client";
import type { CredentialFormSchema, Member, ProviderSpec, ProviderWithModels } from "../api/models";
import { credentialDefaults, CredentialForm } from "../components/CredentialForm";
import { toFormError, type FormError } from "../components/errors";
import { Field, FormAlert } from "../components/Field";
import { useProfile } from "../components/Layout";
import { ErrorBox, formatTime, Loading, Modal } from "../components/ui";
import { localized } from "../lib/params";
import { ToolsSettings } from "./settings/ToolsSettings";

const ROLES = ["admin", "editor", "normal", "dataset_operator"] as const;
const DEFAULT_TYPES = ["llm", "text-embedding", "rerank", "speech2text", "tts"] as const;

export function SettingsPage() {
  const { t } = useTranslation();
  const { section = "providers" } = useParams();
  return (
    <div>
      <div className="page-head">
        <h1>{t("settings.title")}</h1>
      </div>
      <nav className="tabs">
        <NavLink to="/settings/providers">{t("settings.providers")}</NavLink>
        <NavLink to="/settings/default-models">{t("settings.defaultModels")}</NavLink>
        <NavLink to="/settings/members">{t("settings.members")}</NavLink>
        <NavLink to="/settings/tools" data-testid="settings-tools">
          {t("toolSettings.title")}
        </NavLink>
      </nav>
      {section === "members" ? <Members /> : section === "default-models" ? <DefaultModels /> : section === "tools" ? <ToolsSettings /> : <Providers />}
    </div>
  );
}

function Members() {
  const { t, i18n } = useTranslation();
  const { profile } = useProfile();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [inviting, setInviting] = useState(false);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<string>("normal");
  const [inviteError, setInviteError] = useState<FormError | null>(null);
  const [links, setLinks] = useState<{ email: string; url: string }[]>([]);
  const load = useCallback(async () => {
    try {
      setMembers((await api<{ accounts: Member[] }>("get", "/console/api/workspaces/current/members")).accounts);
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const invite = async () => {
    setInviteError(null);
    try {
      const result = await api<{ invitation_results: { email: string; url: string; status: string }[] }>(
        "post",
        "/console/api/workspaces/current/members/invite-email",
        { body: { emails: [email], role, language: i18n.language } },
      );
      setLinks(result.invitation_results.filter((r) => r.url));
      setEmail("");
      setInviting(false);
      await load();
    } catch (e) {
      setInviteError(toFormError(e, t, ["emails", "role"]));
    }
  };
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="stack">
      <div className="row-between">
        <p className="muted">{t("members.hint")}</p>
        <button type="button" className="btn btn-primary" onClick={() => setInviting(true)}>
          + {t("members.invite")}
        </button>
      </div>
      <ErrorBox error={error} />
      {links.map((l) => (
        <div key={l.email} className="success">
          {t("members.invited", { email: l.email })} <code className="inline-code">{l.url}</code>
        </div>
      ))}
      {members === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="members-table">
            <thead>
              <tr>
                <th>{t("members.name")}</th>
                <th>{t("members.lastActive")}</th>
                <th>{t("members.role")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.id}>
                  <td>
                    <div className="row">
                      <span className="avatar">{m.name.slice(0, 1).toUpperCase()}</span>
                      <div>
                        {m.name} {m.id === profile?.id ? <span className="badge">{t("members.you")}</span> : null}
                        <div className="muted small">{m.email}</div>
                      </div>
                    </div>
                  </td>
                  <td>{formatTime(m.last_active_at, i18n.language)}</td>
                  <td>
                    {m.role === "owner" ? (
                      <span className="badge badge-blue">{t("roles.owner")}</span>
                    ) : (
                      <select
                        aria-label={t("members.role")}
                        value={m.role}
                        style={{ width: 160 }}
                        onChange={(e) =>
                          void act(() =>
                            api("put", "/console/api/workspaces/current/members/{member_id}/update-role", {
                              path: { member_id: m.id },
                              body: { role: e.target.value },
                            }),
                          )
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {t(`roles.${r}`)}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td style={{ textAlign: "right" }}>
                    {m.role !== "owner" ? (
                      <button
                        type="button"
                        className="btn btn-danger btn-small"
                        onClick={() => void act(() => api("delete", "/console/api/workspaces/current/members/{member_id}", { path: { member_id: m.id } }))}
                      >
                        {t("members.remove")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {inviting ? (
        <Modal
          title={t("members.invite")}
          onClose={() => setInviting(false)}
          footer={
            <>
              <button type="button" className="btn" onClick={() => setInviting(false)}>
                {t("common.cancel")}
              </button>
              <button type="button" className="btn btn-primary" disabled={!email} onClick={() => void invite()}>
                {t("members.send")}
              </button>
            </>
          }
        >
          <Field id="invite-email" label={t("members.email")} error={inviteError?.field === "emails" ? inviteError.message : null}>
            <input id="invite-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <Field id="invite-role" label={t("members.role")} error={inviteError?.field === "role" ? inviteError.message : null}>
            <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`roles.${r}`)}
                </option>
              ))}
            </select>
          </Field>
          <FormAlert error={inviteError} />
        </Modal>
      ) : null}
    </div>
  );
}

function Providers() {
  const { t, i18n } = useTranslation();
  const [providers, setProviders] = useState<ProviderSpec[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<{ spec: ProviderSpec; kind: "provider" | "model" } | null>(null);
  const load = useCallback(async () => {
    try {
      setProviders((await api<{ data: ProviderSpec[] }>("get", "/console/api/workspaces/current/model-providers")).data);
    } catch (e) {
      setError(e);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  const remove = async (spec: ProviderSpec) => {
    try {
      await api("delete", "/console/api/workspaces/current/model-providers/{provider}", { path: { provider: spec.provider } });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  if (!providers) return error ? <ErrorBox error={error} /> : <Loading />;
  const sorted = [...providers].sort(
    (a, b) => Number(b.custom_configuration.status === "active") - Number(a.custom_configuration.status === "active"),
  );
  return (
    <div className="stack">
      <ErrorBox error={error} />
      <div className="grid-cards" data-testid="provider-list">
        {sorted.map((spec) => {
          const active = spec.custom_configuration.status === "active";
          const hasProviderForm = (spec.provider_credential_schema?.credential_form_schemas ?? []).length > 0 && spec.configurate_methods.includes("predefined-model");
          const customizable = spec.configurate_methods.includes("customizable-model") && spec.model_credential_schema;
          return (
            <div key={spec.provider} className="card app-card" data-provider={spec.provider}>
              <div className="app-card-title">
                <span className="app-icon" style={{ background: spec.background ?? "#f2f4f7" }}>
                  {(localized(spec.label, i18n.language) || spec.provider).slice(0, 1)}
                </span>
                <span className="grow">{localized(spec.label, i18n.language) || spec.provider}</span>
                {active ? <span className="badge badge-green">{t("providers.active")}</span> : null}
              </div>
              <div className="app-card-desc">{localized(spec.description, i18n.language)}</div>
              <div className="row wrap">
                {spec.supported_model_types.slice(0, 4).map((type) => (
                  <span key={type} className="badge">
                    {t(`modelTypes.${type}`, { defaultValue: type })}
                  </span>
                ))}
              </div>
              <div className="row">
                {hasProviderForm ? (
                  <button type="button" className="btn btn-small" data-testid={`setup-${spec.provider}`} onClick={() => setEditing({ spec, kind: "provider" })}>
                    {active ? t("providers.edit") : t("providers.setup")}
                  </button>
                ) : null}
                {customizable ? (
                  <button type="button" className="btn btn-small" data-testid={`add-model-${spec.provider}`} onClick={() => setEditing({ spec, kind: "model" })}>
                    + {t("providers.addModel")}
                  </button>
                ) : null}
                {active ? (
                  <button type="button" className="btn btn-ghost btn-small" onClick={() => void remove(spec)}>
                    {t("providers.remove")}
                  </button>
                ) : null}
              </div>
            </div>
          );
        })}
      </div>
      {editing ? (
        <ProviderModal
          spec={editing.spec}
          kind={editing.kind}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      ) : null}
    </div>
  );
}

const MODEL_FIELDS = ["model", "model_type"];

function ProviderModal({ spec, kind, onClose, onSaved }: { spec: ProviderSpec; kind: "provider" | "model"; onClose: () => void; onSaved: () => void }) {
  const { t, i18n } = useTranslation();
  const schemas: CredentialFormSchema[] =
    (kind === "provider" ? spec.provider_credential_schema?.credential_form_schemas : spec.model_credential_schema?.credential_form_schemas) ?? [];
  const [values, setValues] = useState<Record<string, string>>(() => credentialDefaults(schemas));
  const [model, setModel] = useState("");
  const [modelType, setModelType] = useState(spec.supported_model_types[0] ?? "llm");
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (kind !== "provider") return;
    api<{ credentials: Record<string, unknown> | null }>("get", "/console/api/workspaces/current/model-providers/{provider}/credentials", {
      path: { provider: spec.provider },
    })
      .then((r) => {
        if (r.credentials) setValues((v) => ({ ...v, ...Object.fromEntries(Object.entries(r.credentials ?? {}).map(([k, x]) => [k, String(x ?? "")])) }));
      })
      .catch(() => undefined);
  }, [kind, spec.provider]);

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      if (kind === "provider") {
        await api("post", "/console/api/workspaces/current/model-providers/{provider}/credentials", {
          path: { provider: spec.provider },
          body: { credentials: values },
        });
      } else {
        await api("post", "/console/api/workspaces/current/model-providers/{provider}/models", {
          path: { provider: spec.provider },
          body: { model, model_type: modelType, credentials: values },
        });
      }
      onSaved();
    } catch (e) {
      setError(toFormError(e, t, [...schemas.map((s) => s.variable), ...MODEL_FIELDS]));
    } finally {
      setBusy(false);
    }
  };

  const label = localized(spec.label, i18n.language) || spec.provider;
  return (
    <Modal
      title={kind === "provider" ? t("providers.setupTitle", { name: label }) : t("providers.addModelTitle", { name: label })}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="provider-save" disabled={busy} onClick={() => void save()}>
            {t("common.save")}
          </button>
        </>
      }
    >
      {spec.help ? (
        <a href={localized(spec.help.url, i18n.language)} target="_blank" rel="noreferrer" className="small">
          {localized(spec.help.title, i18n.language)} ↗
        </a>
      ) : null}
      {kind === "model" ? (
        <>
          <Field id="model-type" label={t("providers.modelType")} error={error?.field === "model_type" ? error.message : null}>
            <select id="model-type" value={modelType} onChange={(e) => setModelType(e.target.value)}>
              {spec.supported_model_types.map((type) => (
                <option key={type} value={type}>
                  {t(`modelTypes.${type}`, { defaultValue: type })}
                </option>
              ))}
            </select>
          </Field>
          <Field
            id="model-name"
            label={`${localized(spec.model_credential_schema?.model.label, i18n.language) || t("providers.modelName")} *`}
            error={error?.field === "model" ? error.message : null}
          >
            <input
              id="model-name"
              type="text"
              placeholder={localized(spec.model_credential_schema?.model.placeholder, i18n.language)}
              value={model}
              onChange={(e) => setModel(e.target.value)}
            />
          </Field>
        </>
      ) : null}
      <CredentialForm schemas={schemas} values={values} onChange={setValues} errorField={error?.field ?? null} errorMessage={error?.message ?? null} />
      <FormAlert error={error} />
    </Modal>
  );
}

function DefaultModels() {
  const { t, i18n } = useTranslation();
  const [options, setOptions] = useState<Record<string, ProviderWithModels[]>>({});
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    void (async () => {
      try {
        const lists: Record<string, ProviderWithModels[]> = {};
        const picks: Record<string, string> = {};
        for (const type of DEFAULT_TYPES) {
          const [models, current] = await Promise.all([
            api<{ data: ProviderWithModels[] }>("get", "/console/api/workspaces/current/models/model-types/{model_type}", { path: { model_type: type } }),
            api<{ data: { model: string; provider: { provider: string } } | null }>("get", "/console/api/workspaces/current/default-model", {
              query: { model_type: type },
            }),
          ]);
          lists[type] = models.data.filter((p) => p.status === "active");
          if (current.data) picks[type] = `${current.data.provider.provider}\u0000${current.data.model}`;
        }
        setOptions(lists);
        setChosen(picks);
      } catch (e) {
        setError(e);
      }
    })();
  }, []);
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      await api("post", "/console/api/workspaces/current/default-model", {
        body: {
          model_settings: DEFAULT_TYPES.map((type) => {
            const [provider = "", model = ""] = (chosen[type] ?? "").split("\u0000");
            return { model_type: type, provider, model };
          }),
        },
      });
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="panel stack" style={{ maxWidth: 640 }}>
      <p className="muted">{t("defaults.hint")}</p>
      <ErrorBox error={error} />
      {saved ? <div className="success">{t("defaults.saved")}</div> : null}
      {DEFAULT_TYPES.map((type) => (
        <Field key={type} id={`default-${type}`} label={t(`modelTypes.${type}`)}>
          <select id={`default-${type}`} value={chosen[type] ?? ""} onChange={(e) => setChosen({ ...chosen, [type]: e.target.value })}>
            <option value="">{t("defaults.none")}</option>
            {(options[type] ?? []).map((p) => (
              <optgroup key={p.provider} label={localized(p.label, i18n.language) || p.provider}>
                {p.models.map((m) => (
                  <option key={m.model} value={`${p.provider}\u0000${m.model}`}>
                    {localized(m.label, i18n.language) || m.model}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        </Field>
      ))}
      <div>
        <button type="button" className="btn btn-primary" onClick={() => void save()}>
          {t("common.save")}
        </button>
      </div>
    </div>
  );
}

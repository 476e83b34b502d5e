import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";
import { api } from "../api/client";
import { APP_MODES, type AppDetail, type AppMode, type AppPage, type AppSummary, type ImportResult } from "../api/models";
import { fieldMessage, toFormError, type FormError } from "../components/errors";
import { Field, FormAlert } from "../components/Field";
import { download, ErrorBox, Loading, Modal } from "../components/ui";

export const MODE_ICONS: Record<AppMode, string> = {
  chat: "💬",
  completion: "📝",
  "agent-chat": "🤖",
  workflow: "🔀",
  "advanced-chat": "🧩",
};

/** Where an app opens: flows on their canvas, the other modes in the app editor. */
export function appHome(app: { id: string; mode: AppMode | string | null }): string {
  return app.mode === "workflow" || app.mode === "advanced-chat" ? `/apps/${app.id}/workflow` : `/apps/${app.id}`;
}

export function AppIcon({ app }: { app: Pick<AppSummary, "icon" | "icon_background" | "mode"> }) {
  const emoji = app.icon && [...app.icon].length <= 2 ? app.icon : MODE_ICONS[app.mode];
  return (
    <span className="app-icon" style={app.icon_background ? { background: app.icon_background } : undefined} aria-hidden="true">
      {emoji}
    </span>
  );
}

export function AppsPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [mode, setMode] = useState<"all" | AppMode>("all");
  const [search, setSearch] = useState("");
  const [query, setQuery] = useState("");
  const [page, setPage] = useState<AppPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const [menu, setMenu] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<AppSummary | null>(null);

  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(search.trim()), 250);
    return () => window.clearTimeout(timer);
  }, [search]);

  const load = useCallback(async () => {
    try {
      setPage(await api<AppPage>("get", "/console/api/apps", { query: { page: 1, limit: 100, mode, name: query || undefined } }));
      setError(null);
    } catch (e) {
      setError(e);
    }
  }, [mode, query]);

  useEffect(() => {
    void load();
  }, [load]);

  const duplicate = async (app: AppSummary) => {
    setMenu(null);
    try {
      await api<AppDetail>("post", "/console/api/apps/{app_id}/copy", {
        path: { app_id: app.id },
        body: { name: t("apps.copyName", { name: app.name }) },
      });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const exportDsl = async (app: AppSummary) => {
    setMenu(null);
    try {
      const result = await api<{ data: string }>("get", "/console/api/apps/{app_id}/export", { path: { app_id: app.id } });
      download(`${app.name}.yml`, result.data);
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (app: AppSummary) => {
    try {
      await api<void>("delete", "/console/api/apps/{app_id}", { path: { app_id: app.id } });
      setDeleting(null);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div onClick={() => setMenu(null)}>
      <div className="page-head">
        <div>
          <h1>{t("apps.title")}</h1>
          <p className="muted">{t("apps.subtitle")}</p>
        </div>
        <div className="row">
          <button type="button" className="btn" data-testid="import-dsl" onClick={() => setImporting(true)}>
            {t("apps.import")}
          </button>
          <button type="button" className="btn btn-primary" data-testid="create-app" onClick={() => setCreating(true)}>
            + {t("apps.create")}
          </button>
        </div>
      </div>
      <div className="row-between wrap" style={{ marginBottom: 16 }}>
        <div className="segmented" role="tablist" aria-label={t("apps.mode")}>
          {(["all", ...APP_MODES] as const).map((m) => (
            <button key={m} type="button" role="tab" aria-selected={mode === m} className={mode === m ? "active" : ""} onClick={() => setMode(m)}>
              {m === "all" ? t("apps.allModes") : t(`modes.${m}`)}
            </button>
          ))}
        </div>
        <div style={{ width: 260 }}>
          <input type="search" placeholder={t("apps.search")} aria-label={t("apps.search")} value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
      </div>
      <ErrorBox error={error} />
      {page === null ? (
        error ? null : <Loading />
      ) : page.data.length === 0 ? (
        <div className="card empty">{query || mode !== "all" ? t("apps.noMatch") : t("apps.empty")}</div>
      ) : (
        <div className="grid-cards" data-testid="app-list">
          {page.data.map((app) => (
            <div key={app.id} className="card app-card" data-testid="app-card">
              <Link to={appHome(app)} className="app-card-title">
                <AppIcon app={app} />
                <span className="grow">
                  {app.name}
                  <br />
                  <span className="muted small">{t(`modes.${app.mode}`)}</span>
                </span>
              </Link>
              <div className="app-card-desc">{app.description || t("app.noDescription")}</div>
              <div className="app-card-foot">
                <span className={app.enable_site ? "badge badge-green" : "badge"}>{app.enable_site ? t("apps.published") : t("apps.draft")}</span>
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  aria-label={t("apps.more")}
                  onClick={(e) => {
                    e.stopPropagation();
                    setMenu(menu === app.id ? null : app.id);
                  }}
                >
                  •••
                </button>
              </div>
              {menu === app.id ? (
                <div className="menu" onClick={(e) => e.stopPropagation()}>
                  <button type="button" onClick={() => void duplicate(app)}>
                    {t("apps.duplicate")}
                  </button>
                  <button type="button" onClick={() => void exportDsl(app)}>
                    {t("apps.export")}
                  </button>
                  <button type="button" className="danger" onClick={() => (setMenu(null), setDeleting(app))}>
                    {t("common.delete")}
                  </button>
                </div>
              ) : null}
            </div>
          ))}
        </div>
      )}
      {creating ? (
        <CreateAppModal
          onClose={() => setCreating(false)}
          onCreated={(app) => navigate(appHome(app))}
          onImported={(r) => navigate(appHome({ id: r.app_id ?? "", mode: r.app_mode }), { state: { warnings: r.warnings ?? [] } })}
        />
      ) : null}
      {importing ? <ImportModal onClose={() => setImporting(false)} onImported={(r) => navigate(appHome({ id: r.app_id ?? "", mode: r.app_mode }), { state: { warnings: r.warnings ?? [] } })} /> : null}
      {deleting ? (
        <Modal
          title={t("apps.deleteTitle")}
          onClose={() => setDeleting(null)}
          footer={
            <>
              <button type="button" className="btn" onClick={() => setDeleting(null)}>
                {t("common.cancel")}
              </button>
              <button type="button" className="btn btn-danger" data-testid="confirm-delete" onClick={() => void remove(deleting)}>
                {t("common.delete")}
              </button>
            </>
          }
        >
          <p>{t("apps.deleteBody", { name: deleting.name })}</p>
        </Modal>
      ) : null}
    </div>
  );
}

export interface AppTemplate {
  id: string;
  name: string;
  description: string;
  mode: AppMode;
  icon: string | null;
  icon_background?: string | null;
}

/** The shipped template gallery: choosing one imports its DSL as a new app. */
function TemplateGallery({ onImported }: { onImported: (result: ImportResult) => void }) {
  const { t } = useTranslation();
  const [templates, setTemplates] = useState<AppTemplate[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  useEffect(() => {
    api<{ data: AppTemplate[] }>("get", "/console/api/app-templates").then(
      (r) => setTemplates(r.data),
      (e: unknown) => setError(e),
    );
  }, []);
  const use = async (template: AppTemplate) => {
    setBusy(template.id);
    setError(null);
    try {
      const detail = await api<{ yaml_content: string }>("get", "/console/api/app-templates/{template_id}", {
        path: { template_id: template.id },
      });
      const result = await api<ImportResult>("post", "/console/api/apps/imports", {
        body: { mode: "yaml-content", yaml_content: detail.yaml_content },
      });
      if (result.status === "failed") setError(new Error(result.error ?? "import failed"));
      else onImported(result);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div>
      <p className="muted">{t("createApp.templateHint")}</p>
      <ErrorBox error={error} />
      {templates === null ? (
        error ? null : <Loading />
      ) : (
        <div className="mode-grid" data-testid="template-gallery">
          {templates.map((template) => (
            <button
              key={template.id}
              type="button"
              className="mode-option"
              data-template={template.id}
              disabled={busy !== null}
              aria-label={`${t("createApp.useTemplate")}: ${template.name}`}
              onClick={() => void use(template)}
            >
              <strong>
                <AppIcon app={{ icon: template.icon, icon_background: template.icon_background ?? null, mode: template.mode }} /> {template.name}
              </strong>
              <span className="muted small">{t(`modes.${template.mode}`)}</span>
              <span>{template.description}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function CreateAppModal({
  onClose,
  onCreated,
  onImported,
}: {
  onClose: () => void;
  onCreated: (app: AppDetail) => void;
  onImported: (result: ImportResult) => void;
}) {
  const { t } = useTranslation();
  const [source, setSource] = useState<"blank" | "template">("blank");
  const [mode, setMode] = useState<AppMode>("chat");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const app = await api<AppDetail>("post", "/console/api/apps", {
        body: { name, mode, description, icon_type: "emoji", icon: MODE_ICONS[mode], icon_background: "#E0EAFF" },
      });
      onCreated(app);
    } catch (e) {
      setError(toFormError(e, t, ["name", "mode", "description"]));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={t("createApp.title")}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          {source === "blank" ? (
            <button type="button" className="btn btn-primary" data-testid="create-submit" disabled={busy || !name.trim()} onClick={() => void submit()}>
              {t("createApp.submit")}
            </button>
          ) : null}
        </>
      }
    >
      <div className="segmented" style={{ marginBottom: 12 }}>
        <button type="button" className={source === "blank" ? "active" : ""} onClick={() => setSource("blank")}>
          {t("createApp.blank")}
        </button>
        <button type="button" data-testid="create-from-template" className={source === "template" ? "active" : ""} onClick={() => setSource("template")}>
          {t("createApp.fromTemplate")}
        </button>
      </div>
      {source === "template" ? <TemplateGallery onImported={onImported} /> : null}
      <div className="field" hidden={source !== "blank"}>
        <label>{t("createApp.mode")}</label>
        <div className="mode-grid" role="radiogroup" aria-label={t("createApp.mode")}>
          {APP_MODES.map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={mode === m}
              data-mode={m}
              className={mode === m ? "mode-option active" : "mode-option"}
              onClick={() => setMode(m)}
            >
              <strong>
                {MODE_ICONS[m]} {t(`modes.${m}`)}
              </strong>
              <span>{t(`modeHints.${m}`)}</span>
            </button>
          ))}
        </div>
        {fieldMessage(error, "mode") ? <p className="field-error">{fieldMessage(error, "mode")}</p> : null}
      </div>
      {source === "blank" ? (
        <>
          <Field id="app-name" label={t("createApp.name")} error={fieldMessage(error, "name")}>
            <input id="app-name" type="text" autoFocus placeholder={t("createApp.namePlaceholder")} value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field id="app-description" label={t("createApp.description")} error={fieldMessage(error, "description")}>
            <textarea id="app-description" value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <FormAlert error={error} />
        </>
      ) : null}
    </Modal>
  );
}

function ImportModal({ onClose, onImported }: { onClose: () => void; onImported: (result: ImportResult) => void }) {
  const { t } = useTranslation();
  const [source, setSource] = useState<"file" | "url">("file");
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState("");
  const [url, setUrl] = useState("");
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const finish = (r: ImportResult) => {
    setResult(r);
    if ((r.status === "completed" || r.status === "completed-with-warnings") && r.app_id && !(r.warnings ?? []).length) onImported(r);
  };

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const body = source === "file" ? { mode: "yaml-content" as const, yaml_content: content } : { mode: "yaml-url" as const, yaml_url: url };
      finish(await api<ImportResult>("post", "/console/api/apps/imports", { body }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const confirm = async () => {
    if (!result) return;
    setBusy(true);
    try {
      finish(await api<ImportResult>("post", "/console/api/apps/imports/{import_id}/confirm", { path: { import_id: result.id } }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const done = result && (result.status === "completed" || result.status === "completed-with-warnings") && result.app_id;
  return (
    <Modal
      title={t("importDsl.title")}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            {t("common.cancel")}
          </button>
          {done ? (
            <button type="button" className="btn btn-primary" onClick={() => onImported(result)}>
              {t("importDsl.open")}
            </button>
          ) : result?.status === "pending" ? (
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void confirm()}>
              {t("importDsl.confirm")}
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-primary"
              data-testid="import-submit"
              disabled={busy || (source === "file" ? !content : !url)}
              onClick={() => void submit()}
            >
              {t("importDsl.submit")}
            </button>
          )}
        </>
      }
    >
      <div className="segmented">
        <button type="button" className={source === "file" ? "active" : ""} onClick={() => setSource("file")}>
          {t("importDsl.file")}
        </button>
        <button type="button" className={source === "url" ? "active" : ""} onClick={() => setSource("url")}>
          {t("importDsl.url")}
        </button>
      </div>
      {source === "file" ? (
        <div className="dropzone" onClick={() => input.current?.click()}>
          <input
            ref={input}
            type="file"
            accept=".yml,.yaml"
            hidden
            data-testid="import-file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (!file) return;
              setFileName(file.name);
              void file.text().then(setContent);
            }}
          />
          {fileName || t("importDsl.pick")}
        </div>
      ) : (
        <Field id="dsl-url" label={t("importDsl.urlLabel")}>
          <input id="dsl-url" type="url" placeholder="https://…/app.yml" value={url} onChange={(e) => setUrl(e.target.value)} />
        </Field>
      )}
      {result?.status === "failed" ? <div className="alert">{result.error}</div> : null}
      {result?.status === "pending" ? <div className="notice">{t("importDsl.pending", { from: result.imported_dsl_version, to: result.current_dsl_version })}</div> : null}
      {(result?.warnings ?? []).length > 0 ? (
        <div className="notice" data-testid="import-warnings">
          <strong>{t("importDsl.warnings")}</strong>
          <ul>
            {(result?.warnings ?? []).map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {done && !(result.warnings ?? []).length ? <div className="success">{t("importDsl.done")}</div> : null}
      <ErrorBox error={error} />
    </Modal>
  );
}

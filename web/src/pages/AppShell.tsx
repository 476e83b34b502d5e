import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useParams } from "react-router";
import { api } from "../api/client";
import type { AppDetail } from "../api/models";
import { ErrorBox, Loading } from "../components/ui";
import { AppIcon } from "./Apps";

const AppContext = createContext<{ app: AppDetail; reload: () => Promise<void>; setApp: (a: AppDetail) => void } | null>(null);

export function useApp() {
  const value = useContext(AppContext);
  if (!value) throw new Error("useApp outside an app page");
  return value;
}

/** One app: its header and the tabs (configure, overview, API access). */
export function AppShell() {
  const { t } = useTranslation();
  const { appId = "" } = useParams();
  const [app, setApp] = useState<AppDetail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reload = useCallback(async () => {
    try {
      setApp(await api<AppDetail>("get", "/console/api/apps/{app_id}", { path: { app_id: appId } }));
    } catch (e) {
      setError(e);
    }
  }, [appId]);
  useEffect(() => {
    void reload();
  }, [reload]);
  if (error) {
    return (
      <div className="stack">
        <Link to="/apps">← {t("common.back")}</Link>
        <ErrorBox error={error} />
      </div>
    );
  }
  if (!app) return <Loading />;
  return (
    <AppContext.Provider value={{ app, reload, setApp }}>
      <div className="app-head">
        <Link to="/apps" className="btn btn-ghost btn-small" aria-label={t("common.back")}>
          ←
        </Link>
        <AppIcon app={app} />
        <div className="grow">
          <h1 data-testid="app-name">{app.name}</h1>
          <span className="muted small">{t(`modes.${app.mode}`)}</span>
        </div>
      </div>
      <nav className="tabs">
        <NavLink to={`/apps/${app.id}`} end>
          {t("app.configure")}
        </NavLink>
        {app.mode === "workflow" || app.mode === "advanced-chat" ? (
          <Link to={`/apps/${app.id}/workflow`} data-testid="tab-canvas">
            {t("openCanvas", { ns: "canvas" })}
          </Link>
        ) : null}
        <NavLink to={`/apps/${app.id}/overview`}>{t("app.overview")}</NavLink>
        <NavLink to={`/apps/${app.id}/logs`} data-testid="tab-logs">
          {t("tabs.logs")}
        </NavLink>
        {app.mode !== "workflow" ? (
          <NavLink to={`/apps/${app.id}/annotations`} data-testid="tab-annotations">
            {t("tabs.annotations")}
          </NavLink>
        ) : null}
        <NavLink to={`/apps/${app.id}/monitoring`} data-testid="tab-monitoring">
          {t("tabs.monitoring")}
        </NavLink>
        <NavLink to={`/apps/${app.id}/api`} data-testid="tab-api">
          {t("app.apiAccess")}
        </NavLink>
      </nav>
      <Outlet />
    </AppContext.Provider>
  );
}

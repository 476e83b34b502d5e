import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/client";
import type { ApiKey, AppDetail } from "../api/models";
import { CopyButton } from "../components/CopyButton";
import { CodeBlock, ErrorBox, formatTime, Modal, Switch } from "../components/ui";
import { useApp } from "./AppShell";

type Endpoint = [method: string, path: string, key: string];

/** The Service API endpoints an app of `mode` answers. */
export function endpointsFor(mode: string): Endpoint[] {
  const common: Endpoint[] = [
    ["GET", "/info", "info"],
    ["GET", "/parameters", "parameters"],
    ["GET", "/site", "site"],
    ["POST", "/files/upload", "upload"],
  ];
  if (mode === "completion") {
    return [["POST", "/completion-messages", "completion"], ["POST", "/completion-messages/:task_id/stop", "stop"], ["POST", "/messages/:message_id/feedbacks", "feedback"], ...common];
  }
  if (mode === "workflow") {
    return [["POST", "/workflows/run", "workflowRun"], ["GET", "/workflows/run/:workflow_run_id", "workflowDetail"], ["POST", "/workflows/tasks/:task_id/stop", "stop"], ["GET", "/workflows/logs", "workflowLogs"], ...common];
  }
  return [
    ["POST", "/chat-messages", "chat"],
    ["POST", "/chat-messages/:task_id/stop", "stop"],
    ["GET", "/conversations", "conversations"],
    ["GET", "/messages", "messages"],
    ["POST", "/conversations/:conversation_id/name", "rename"],
    ["DELETE", "/conversations/:conversation_id", "deleteConversation"],
    ["POST", "/messages/:message_id/feedbacks", "feedback"],
    ["GET", "/messages/:message_id/suggested", "suggested"],
    ...common,
  ];
}

function curlExample(mode: string, base: string): string {
  if (mode === "completion") {
    return `curl -X POST '${base}/completion-messages' \\\n  -H 'Authorization: Bearer {api_key}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"inputs": {"query": "Hello"}, "response_mode": "streaming", "user": "abc-123"}'`;
  }
  if (mode === "workflow") {
    return `curl -X POST '${base}/workflows/run' \\\n  -H 'Authorization: Bearer {api_key}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"inputs": {}, "response_mode": "streaming", "user": "abc-123"}'`;
  }
  return `curl -X POST '${base}/chat-messages' \\\n  -H 'Authorization: Bearer {api_key}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"inputs": {}, "query": "Hello", "response_mode": "streaming", "conversation_id": "", "user": "abc-123"}'`;
}

export function ApiAccess() {
  const { t, i18n } = useTranslation();
  const { app, setApp } = useApp();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [error, setError] = useState<unknown>(null);
  const base = app.api_base_url || `${window.location.origin}/v1`;

  const load = useCallback(async () => {
    try {
      setKeys((await api<{ data: ApiKey[] }>("get", "/console/api/apps/{app_id}/api-keys", { path: { app_id: app.id } })).data);
    } catch (e) {
      setError(e);
    }
  }, [app.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const create = async () => {
    setError(null);
    try {
      setCreated(await api<ApiKey>("post", "/console/api/apps/{app_id}/api-keys", { path: { app_id: app.id } }));
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (key: ApiKey) => {
    try {
      await api<void>("delete", "/console/api/apps/{app_id}/api-keys/{key_id}", { path: { app_id: app.id, key_id: key.id } });
      await load();
    } catch (e) {
      setError(e);
    }
  };
  const setEnabled = async (enable: boolean) => {
    try {
      setApp(await api<AppDetail>("post", "/console/api/apps/{app_id}/api-enable", { path: { app_id: app.id }, body: { enable_api: enable } }));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="stack" style={{ maxWidth: 960 }}>
      <ErrorBox error={error} />
      <section className="panel stack">
        <div className="row-between">
          <h2>{t("apiAccess.title")}</h2>
          <div className="row">
            <span className={app.enable_api ? "badge badge-green" : "badge"}>{app.enable_api ? t("overview.inService") : t("overview.disabled")}</span>
            <Switch checked={app.enable_api} label={t("apiAccess.title")} onChange={(v) => void setEnabled(v)} />
          </div>
        </div>
        <dl className="kv">
          <dt>{t("apiAccess.baseUrl")}</dt>
          <dd className="row">
            <code className="inline-code" data-testid="api-base-url">
              {base}
            </code>
            <CopyButton text={base} />
          </dd>
        </dl>
      </section>
      <section className="panel stack">
        <div className="row-between">
          <div>
            <h2>{t("apiAccess.keys")}</h2>
            <p className="muted small">{t("apiAccess.keysHint")}</p>
          </div>
          <button type="button" className="btn btn-primary" data-testid="create-key" onClick={() => void create()}>
            + {t("apiAccess.create")}
          </button>
        </div>
        {keys && keys.length === 0 ? <p className="muted">{t("apiAccess.noKeys")}</p> : null}
        {keys && keys.length > 0 ? (
          <div className="table-wrap">
            <table className="table" data-testid="key-table">
              <thead>
                <tr>
                  <th>{t("apiAccess.key")}</th>
                  <th>{t("apiAccess.created")}</th>
                  <th>{t("apiAccess.lastUsed")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.id}>
                    <td className="mono">{key.token}</td>
                    <td>{formatTime(key.created_at, i18n.language)}</td>
                    <td>{key.last_used_at ? formatTime(key.last_used_at, i18n.language) : t("common.never")}</td>
                    <td style={{ textAlign: "right" }}>
                      <button type="button" className="btn btn-danger btn-small" onClick={() => void remove(key)}>
                        {t("common.delete")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <section className="panel stack" data-testid="endpoint-reference">
        <h2>{t("apiAccess.reference")}</h2>
        <p className="muted small">{t("apiAccess.authHint")}</p>
        <div className="table-wrap">
          <table className="table">
            <tbody>
              {endpointsFor(app.mode).map(([method, path, key]) => (
                <tr key={`${method} ${path}`}>
                  <td style={{ width: 80 }}>
                    <span className={`method method-${method.toLowerCase()}`}>{method}</span>
                  </td>
                  <td className="mono">{path}</td>
                  <td className="muted">{t(`endpoints.${key}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <CodeBlock code={curlExample(app.mode, base)} />
      </section>
      {created ? (
        <Modal
          title={t("apiAccess.newKey")}
          onClose={() => setCreated(null)}
          footer={
            <button type="button" className="btn btn-primary" onClick={() => setCreated(null)}>
              {t("apiAccess.dismiss")}
            </button>
          }
        >
          <p className="notice">{t("apiAccess.newKeyNote")}</p>
          <div className="row">
            <code className="inline-code grow" data-testid="new-key">
              {created.token}
            </code>
            <CopyButton text={created.token} />
          </div>
        </Modal>
      ) : null}
    </div>
  );
}

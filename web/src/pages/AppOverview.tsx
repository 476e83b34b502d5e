import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/client";
import type { AppDetail } from "../api/models";
import { CopyButton } from "../components/CopyButton";
import { CodeBlock, ErrorBox, Switch } from "../components/ui";
import { useApp } from "./AppShell";

/** The end-user page of an app: `/chat/{code}` for chat apps, `/completion/{code}` for text generators. */
export function webAppUrl(mode: string, code: string, origin = window.location.origin): string {
  const kind = mode === "completion" ? "completion" : mode === "workflow" ? "workflow" : "chat";
  return `${origin}/${kind}/${code}`;
}

export function AppOverview() {
  const { t } = useTranslation();
  const { app, setApp } = useApp();
  const [error, setError] = useState<unknown>(null);
  const code = app.site?.code ?? "";
  const url = webAppUrl(app.mode, code);
  const origin = window.location.origin;
  const iframe = `<iframe\n  src="${url}"\n  style="width: 100%; height: 100%; min-height: 700px"\n  frameborder="0"\n  allow="microphone">\n</iframe>`;
  const bubble = `<script>\n  window.loomworksChatbotConfig = { token: "${code}", baseUrl: "${origin}" };\n</script>\n<script src="${origin}/embed.js" defer></script>`;

  const setSite = async (enable: boolean) => {
    try {
      setApp(await api<AppDetail>("post", "/console/api/apps/{app_id}/site-enable", { path: { app_id: app.id }, body: { enable_site: enable } }));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div className="stack" style={{ maxWidth: 860 }}>
      <ErrorBox error={error} />
      <section className="panel stack">
        <div className="row-between">
          <div>
            <h2>{t("overview.webApp")}</h2>
            <p className="muted small">{t("overview.webAppHint")}</p>
          </div>
          <div className="row">
            <span className={app.enable_site ? "badge badge-green" : "badge"}>{app.enable_site ? t("overview.inService") : t("overview.disabled")}</span>
            <Switch checked={app.enable_site} label={t("overview.webApp")} testId="site-switch" onChange={(v) => void setSite(v)} />
          </div>
        </div>
        <div className="row">
          <code className="inline-code grow" data-testid="site-url">
            {url}
          </code>
          <CopyButton text={url} />
          <a className="btn btn-small" href={url} target="_blank" rel="noreferrer" data-testid="open-site">
            {t("overview.open")}
          </a>
        </div>
      </section>
      {app.mode !== "completion" && app.mode !== "workflow" ? (
        <section className="panel stack" data-testid="embed">
          <h2>{t("overview.embed")}</h2>
          <p className="muted small">{t("overview.iframeHint")}</p>
          <CodeBlock code={iframe} testId="embed-iframe" />
          <p className="muted small">{t("overview.bubbleHint")}</p>
          <CodeBlock code={bubble} testId="embed-bubble" />
        </section>
      ) : null}
    </div>
  );
}

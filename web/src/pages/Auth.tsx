import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation, useNavigate } from "react-router";
import { api, tokens } from "../api/client";
import type { SetupStatus, TokenPair } from "../api/models";
import { fieldMessage, toFormError, type FormError } from "../components/errors";
import { Field, FormAlert } from "../components/Field";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { Loading } from "../components/ui";

let setupDone = false;

/** Sends every console page to /install until the first admin exists. */
export function SetupGate({ children }: { children: ReactNode }) {
  const [step, setStep] = useState<SetupStatus["step"] | null>(setupDone ? "finished" : null);
  useEffect(() => {
    if (setupDone) return;
    api<SetupStatus>("get", "/console/api/setup", { noAuthRetry: true })
      .then((s) => {
        setupDone = s.step === "finished";
        setStep(s.step);
      })
      .catch(() => setStep("finished"));
  }, []);
  if (step === null) return <Loading />;
  if (step === "not_started") return <Navigate to="/install" replace />;
  return <>{children}</>;
}

function AuthCard({ title, subtitle, children }: { title: string; subtitle?: string; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="auth">
      <div className="card auth-card">
        <div className="auth-top">
          <span className="brand" style={{ padding: 0 }}>
            <span className="brand-mark" aria-hidden="true">
              ◆
            </span>
            {t("brand")}
          </span>
          <div style={{ width: 130 }}>
            <LanguageSwitch />
          </div>
        </div>
        <div>
          <h1>{title}</h1>
          {subtitle ? <p className="muted">{subtitle}</p> : null}
        </div>
        {children}
      </div>
    </div>
  );
}

export function InstallPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const [finished, setFinished] = useState(false);

  useEffect(() => {
    api<SetupStatus>("get", "/console/api/setup", { noAuthRetry: true })
      .then((s) => s.step === "finished" && setFinished(true))
      .catch(() => undefined);
  }, []);

  if (finished) return <Navigate to="/signin" replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api<unknown>("post", "/console/api/setup", {
        body: { email, name, password, language: i18n.language },
        noAuthRetry: true,
      });
      setupDone = true;
      navigate("/signin", { replace: true, state: { installed: true, email } });
    } catch (e) {
      setError(toFormError(e, t, ["email", "name", "password"]));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthCard title={t("install.title")} subtitle={t("install.subtitle")}>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <Field id="email" label={t("install.email")} error={fieldMessage(error, "email")}>
          <input id="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field id="name" label={t("install.name")} error={fieldMessage(error, "name")}>
          <input id="name" type="text" required value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field id="password" label={t("install.password")} error={fieldMessage(error, "password")} hint={t("install.passwordHint")}>
          <input id="password" type="password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <FormAlert error={error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {t("install.submit")}
        </button>
      </form>
    </AuthCard>
  );
}

export function SignInPage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as { installed?: boolean; email?: string; from?: string };
  const [email, setEmail] = useState(state.email ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const pair = await api<TokenPair>("post", "/console/api/login", {
        body: { email, password, remember_me: true, language: i18n.language },
        noAuthRetry: true,
      });
      tokens.set(pair.data.access_token, pair.data.refresh_token);
      navigate(state.from ?? "/apps", { replace: true });
    } catch (e) {
      setError(toFormError(e, t, ["email", "password"]));
    } finally {
      setBusy(false);
    }
  };

  return (
    <SetupGate>
      <AuthCard title={t("signin.title")} subtitle={state.installed ? t("install.done") : undefined}>
        <form className="stack" onSubmit={(e) => void submit(e)}>
          <Field id="email" label={t("signin.email")} error={fieldMessage(error, "email")}>
            <input id="email" type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
          </Field>
          <Field id="password" label={t("signin.password")} error={fieldMessage(error, "password")}>
            <input
              id="password"
              type="password"
              required
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <FormAlert error={error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {t("signin.submit")}
          </button>
        </form>
      </AuthCard>
    </SetupGate>
  );
}

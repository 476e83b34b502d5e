import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/client";
import type { Profile } from "../api/models";
import { fieldMessage, toFormError, type FormError } from "../components/errors";
import { Field, FormAlert } from "../components/Field";
import { useProfile } from "../components/Layout";
import { formatTime } from "../components/ui";

export function AccountPage() {
  const { t, i18n } = useTranslation();
  const { profile, setProfile } = useProfile();
  const [name, setName] = useState<string | null>(null);
  const [nameError, setNameError] = useState<FormError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [pw, setPw] = useState({ password: "", new_password: "", repeat_new_password: "" });
  const [pwError, setPwError] = useState<FormError | null>(null);

  const saveName = async (event: FormEvent) => {
    event.preventDefault();
    setNameError(null);
    try {
      setProfile(await api<Profile>("post", "/console/api/account/name", { body: { name: name ?? profile?.name ?? "" } }));
      setSaved(t("account.nameSaved"));
    } catch (e) {
      setNameError(toFormError(e, t, ["name"]));
    }
  };
  const savePassword = async (event: FormEvent) => {
    event.preventDefault();
    setPwError(null);
    try {
      await api<Profile>("post", "/console/api/account/password", { body: pw });
      setPw({ password: "", new_password: "", repeat_new_password: "" });
      setSaved(t("account.passwordSaved"));
    } catch (e) {
      setPwError(toFormError(e, t, ["password", "new_password", "repeat_new_password"]));
    }
  };

  return (
    <div className="stack" style={{ maxWidth: 640 }}>
      <div className="page-head">
        <h1>{t("account.title")}</h1>
      </div>
      {saved ? <div className="success">{saved}</div> : null}
      <form className="panel stack" onSubmit={(e) => void saveName(e)}>
        <h2>{t("account.profile")}</h2>
        <dl className="kv">
          <dt>{t("account.email")}</dt>
          <dd>{profile?.email}</dd>
          <dt>{t("account.lastLogin")}</dt>
          <dd>{formatTime(profile?.last_login_at, i18n.language)}</dd>
        </dl>
        <Field id="account-name" label={t("account.name")} error={fieldMessage(nameError, "name")}>
          <input id="account-name" type="text" value={name ?? profile?.name ?? ""} onChange={(e) => setName(e.target.value)} />
        </Field>
        <FormAlert error={nameError} />
        <div>
          <button type="submit" className="btn btn-primary">
            {t("common.save")}
          </button>
        </div>
      </form>
      <form className="panel stack" onSubmit={(e) => void savePassword(e)}>
        <h2>{t("account.password")}</h2>
        {(["password", "new_password", "repeat_new_password"] as const).map((key) => (
          <Field key={key} id={`pw-${key}`} label={t(`account.${key}`)} error={fieldMessage(pwError, key)}>
            <input
              id={`pw-${key}`}
              type="password"
              value={pw[key]}
              autoComplete={key === "password" ? "current-password" : "new-password"}
              onChange={(e) => setPw({ ...pw, [key]: e.target.value })}
            />
          </Field>
        ))}
        <FormAlert error={pwError} />
        <div>
          <button type="submit" className="btn btn-primary">
            {t("account.changePassword")}
          </button>
        </div>
      </form>
    </div>
  );
}

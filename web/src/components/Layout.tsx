import { createContext, useContext, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, NavLink, Outlet, useNavigate } from "react-router";
import { api, tokens } from "../api/client";
import type { Profile } from "../api/models";
import { applyLanguage, isLanguage } from "../i18n";
import { LanguageSwitch } from "./LanguageSwitch";

const ProfileContext = createContext<{ profile: Profile | null; setProfile: (p: Profile) => void }>({
  profile: null,
  setProfile: () => undefined,
});

export const useProfile = () => useContext(ProfileContext);

/** Sign out on the server (best effort) and locally. */
export async function signOut(): Promise<void> {
  try {
    await api<unknown>("get", "/console/api/logout", { noAuthRetry: true });
  } catch {
    /* signing out locally is enough */
  }
  tokens.clear();
}

/** The signed-in shell: a sidebar with the sections, the language switch, the profile and sign-out. */
export function Layout() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [profile, setProfile] = useState<Profile | null>(null);
  const signedIn = tokens.access() !== null;

  useEffect(() => {
    if (!signedIn) return;
    let live = true;
    api<Profile>("get", "/console/api/account/profile")
      .then(async (p) => {
        if (!live) return;
        setProfile(p);
        if (isLanguage(p.interface_language) && p.interface_language !== i18n.language) {
          await applyLanguage(p.interface_language);
        }
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signedIn]);

  if (!signedIn) return <Navigate to="/signin" replace />;

  const onLanguage = async (language: string) => {
    try {
      setProfile(await api<Profile>("post", "/console/api/account/interface-language", { body: { interface_language: language } }));
    } catch {
      /* the choice is kept in this browser even if the server call fails */
    }
  };

  const items = [
    { to: "/apps", icon: "▦", label: t("nav.studio") },
    { to: "/datasets", icon: "❏", label: t("nav.knowledge") },
    { to: "/settings", icon: "⚙", label: t("nav.settings") },
  ];

  return (
    <ProfileContext.Provider value={{ profile, setProfile }}>
      <div className="shell">
        <aside className="sidebar">
          <Link to="/apps" className="brand">
            <span className="brand-mark" aria-hidden="true">
              ◆
            </span>
            <span className="label">{t("brand")}</span>
          </Link>
          <nav className="nav" aria-label={t("nav.main")}>
            {items.map((item) => (
              <NavLink key={item.to} to={item.to}>
                <span className="nav-icon" aria-hidden="true">
                  {item.icon}
                </span>
                <span className="label">{item.label}</span>
              </NavLink>
            ))}
          </nav>
          <div className="sidebar-foot">
            <LanguageSwitch onChange={(l) => void onLanguage(l)} />
            <Link to="/account" className="profile-chip" data-testid="profile-link">
              <span className="avatar">{(profile?.name ?? "?").slice(0, 1).toUpperCase()}</span>
              <span className="label grow">
                <span data-testid="profile-name">{profile?.name ?? ""}</span>
                <br />
                <span className="muted small">{profile?.email ?? ""}</span>
              </span>
            </Link>
            <button
              type="button"
              className="btn btn-ghost btn-block"
              data-testid="sign-out"
              onClick={() => void signOut().then(() => navigate("/signin", { replace: true }))}
            >
              {t("nav.signOut")}
            </button>
          </div>
        </aside>
        <main className="main">
          <Outlet />
        </main>
      </div>
    </ProfileContext.Provider>
  );
}

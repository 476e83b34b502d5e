import { useTranslation } from "react-i18next";
import { applyLanguage, isLanguage, LANGUAGES } from "../i18n";

/** English / 简体中文; the choice is kept in this browser, and `onChange` may save it to the profile. */
export function LanguageSwitch({ onChange }: { onChange?: (language: string) => void }) {
  const { t, i18n } = useTranslation();
  return (
    <select
      aria-label={t("nav.language")}
      data-testid="language-switch"
      value={i18n.language}
      onChange={(e) => {
        const language = e.target.value;
        if (!isLanguage(language)) return;
        void applyLanguage(language).then(() => onChange?.(language));
      }}
    >
      {LANGUAGES.map((lang) => (
        <option key={lang} value={lang}>
          {t(`languages.${lang}`)}
        </option>
      ))}
    </select>
  );
}

import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import enUS from "./en-US";
import zhHans from "./zh-Hans";
import canvasEnUS from "./canvas.en-US";
import canvasZhHans from "./canvas.zh-Hans";
import opsEnUS from "./ops.en-US";
import opsZhHans from "./ops.zh-Hans";

export const LANGUAGES = ["en-US", "zh-Hans"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "loomworks.language";

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

function initialLanguage(): Language {
  const stored = typeof localStorage !== "undefined" ? localStorage.getItem(STORAGE_KEY) : null;
  if (isLanguage(stored)) return stored;
  const browser = typeof navigator !== "undefined" ? navigator.language : "";
  return browser.toLowerCase().startsWith("zh") ? "zh-Hans" : "en-US";
}

/** Switch the UI language and remember it in this browser. */
export async function applyLanguage(language: Language): Promise<void> {
  localStorage.setItem(STORAGE_KEY, language);
  document.documentElement.lang = language;
  await i18n.changeLanguage(language);
}

void i18n.use(initReactI18next).init({
  // The logs, monitoring, knowledge, tools and web-app runner strings live in their own files (`ops.*`),
  // merged into the default namespace so pages use one `t`.
  resources: {
    "en-US": { translation: { ...enUS, ...opsEnUS }, canvas: canvasEnUS },
    "zh-Hans": { translation: { ...zhHans, ...opsZhHans }, canvas: canvasZhHans },
  },
  lng: initialLanguage(),
  fallbackLng: "en-US",
  interpolation: { escapeValue: false },
  returnNull: false,
});

export default i18n;

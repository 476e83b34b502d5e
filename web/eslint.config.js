// Flat ESLint config: the recommended JS, TypeScript and React-hooks rules.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "test-results/**", "src/api/schema.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // Our pages load data with `useEffect(() => { void load(); }, [load])`; moving every page to a data
      // library or Suspense is a refactor of its own, so the compiler-era rule is off for now.
      "react-hooks/set-state-in-effect": "off",
    },
  },
  {
    // The embed snippet runs as a plain script on other people's pages.
    files: ["public/**/*.js"],
    languageOptions: { sourceType: "script", globals: { window: "readonly", document: "readonly", console: "readonly" } },
  },
  {
    // The canvas is another engineer's area; report its findings without failing the lint run.
    files: ["src/canvas/**"],
    rules: { "no-useless-assignment": "warn" },
  },
);

/** Controls the node panels share: the variable picker, variable lists, template and code editors. */
import { useMemo, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { ProviderWithModels } from "../../api/models";
import type { FlowMode } from "../catalog";
import type { FlowNode } from "../graph";
import type { VarGroup } from "../variables";

export interface PanelContext {
  mode: FlowMode;
  /** Variables upstream of the node being edited. */
  groups: VarGroup[];
  models: ProviderWithModels[];
  datasets: { id: string; name: string }[];
}

export interface PanelProps {
  node: FlowNode;
  update: (patch: Record<string, unknown>) => void;
  ctx: PanelContext;
}

export function Section({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <section className="wf-section">
      <div className="row-between">
        <h4>{title}</h4>
        {action}
      </div>
      {children}
    </section>
  );
}

export function selectorKey(selector: unknown): string {
  return Array.isArray(selector) ? selector.join(".") : "";
}

/** A select of the variables upstream (grouped by node, each with its type); `accept` filters by type. */
export function VarPicker({
  value,
  onChange,
  groups,
  accept,
  testId,
  label,
}: {
  value: unknown;
  onChange: (selector: string[]) => void;
  groups: VarGroup[];
  accept?: (type: string) => boolean;
  testId?: string;
  label?: string;
}) {
  const { t } = useTranslation("canvas");
  const current = selectorKey(value);
  const known = groups.some((g) => g.vars.some((v) => v.selector.join(".") === current));
  return (
    <select
      className={current && !known ? "wf-var-picker wf-invalid" : "wf-var-picker"}
      value={current}
      aria-label={label ?? t("panel.pickVariable")}
      data-testid={testId ?? "var-picker"}
      onChange={(e) => onChange(e.target.value ? e.target.value.split(".") : [])}
    >
      <option value="">{t("panel.pickVariable")}</option>
      {current && !known ? <option value={current}>{`${current} (${t("panel.notUpstream")})`}</option> : null}
      {groups.map((g) => (
        <optgroup key={g.nodeId} label={g.title}>
          {g.vars
            .filter((v) => !accept || accept(v.type))
            .map((v) => (
              <option key={v.selector.join(".")} value={v.selector.join(".")}>
                {`${g.title}.${v.selector.slice(1).join(".")} · ${v.type}`}
              </option>
            ))}
        </optgroup>
      ))}
    </select>
  );
}

export interface NamedSelector {
  variable: string;
  value_selector: string[];
}

/** Rows of `{variable, value_selector}`: a name and the upstream variable it takes. */
export function VarList({ value, onChange, groups, testId }: { value: NamedSelector[]; onChange: (v: NamedSelector[]) => void; groups: VarGroup[]; testId?: string }) {
  const { t } = useTranslation("canvas");
  const set = (i: number, patch: Partial<NamedSelector>) => onChange(value.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  return (
    <div className="stack-tight" data-testid={testId}>
      {value.map((row, i) => (
        <div className="wf-row" key={i}>
          <input
            type="text"
            className="wf-name"
            value={row.variable}
            aria-label={t("panel.variableName")}
            placeholder={t("panel.variableName")}
            onChange={(e) => set(i, { variable: e.target.value })}
          />
          <VarPicker
            value={row.value_selector}
            groups={groups}
            onChange={(s) => set(i, { value_selector: s, variable: row.variable || s[s.length - 1] || "" })}
          />
          <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => onChange(value.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small" data-testid={testId ? `${testId}-add` : undefined} onClick={() => onChange([...value, { variable: "", value_selector: [] }])}>
        + {t("panel.addVariable")}
      </button>
    </div>
  );
}

const TEMPLATE = /\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}/g;

/** A text template with `{{#node.var#}}` references: an "insert variable" picker and unknown references flagged. */
export function TemplateField({
  value,
  onChange,
  groups,
  testId,
  rows = 4,
  placeholder,
  extra = [],
}: {
  value: string;
  onChange: (v: string) => void;
  groups: VarGroup[];
  testId?: string;
  rows?: number;
  placeholder?: string;
  /** Placeholders allowed besides variables, e.g. `context`. */
  extra?: string[];
}) {
  const { t } = useTranslation("canvas");
  const area = useRef<HTMLTextAreaElement>(null);
  const known = useMemo(() => new Set(groups.flatMap((g) => g.vars.map((v) => v.selector.join(".")))), [groups]);
  const unknown = [...value.matchAll(TEMPLATE)].map((m) => m[1] ?? "").filter((k) => !known.has(k) && !extra.includes(k) && ![...known].some((x) => k.startsWith(`${x}.`)));
  const insert = (key: string) => {
    const el = area.current;
    const at = el ? el.selectionStart : value.length;
    const end = el ? el.selectionEnd : value.length;
    const token = `{{#${key}#}}`;
    onChange(value.slice(0, at) + token + value.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + token.length, at + token.length);
    });
  };
  return (
    <div className="wf-template">
      <textarea ref={area} rows={rows} value={value} placeholder={placeholder} spellCheck={false} data-testid={testId} onChange={(e) => onChange(e.target.value)} />
      <div className="row-between">
        <select
          className="wf-insert"
          value=""
          aria-label={t("panel.insertVariable")}
          data-testid={testId ? `${testId}-insert` : "insert-variable"}
          onChange={(e) => e.target.value && insert(e.target.value)}
        >
          <option value="">{`{x} ${t("panel.insertVariable")}`}</option>
          {extra.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
          {groups.map((g) => (
            <optgroup key={g.nodeId} label={g.title}>
              {g.vars.map((v) => (
                <option key={v.selector.join(".")} value={v.selector.join(".")}>
                  {`${g.title}.${v.selector.slice(1).join(".")} · ${v.type}`}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      {unknown.length ? (
        <p className="field-error" role="alert">
          {t("panel.unknownRefs", { refs: unknown.map((u) => `{{#${u}#}}`).join(", ") })}
        </p>
      ) : null}
    </div>
  );
}

const KEYWORDS: Record<string, string[]> = {
  python3: "def return if elif else for while in not and or is None True False import from as class try except finally with lambda pass break continue yield raise global async await".split(" "),
  javascript: "function return if else for while in of const let var new class try catch finally throw typeof instanceof null undefined true false async await export default import from break continue".split(" "),
};

export interface Token {
  text: string;
  kind: "keyword" | "string" | "comment" | "number" | "plain";
}

/** Split code into coloured tokens (a small highlighter: keywords, strings, comments, numbers). */
export function highlight(code: string, language: string): Token[] {
  const keywords = new Set(KEYWORDS[language] ?? KEYWORDS.python3);
  const comment = language === "javascript" ? "\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?\\*\\/" : "#[^\\n]*";
  const pattern = new RegExp(`(${comment})|("(?:\\\\.|[^"\\\\\\n])*"|'(?:\\\\.|[^'\\\\\\n])*'|\`(?:\\\\.|[^\`\\\\])*\`)|(\\b\\d+(?:\\.\\d+)?\\b)|([A-Za-z_$][\\w$]*)`, "g");
  const tokens: Token[] = [];
  let last = 0;
  for (const m of code.matchAll(pattern)) {
    if (m.index > last) tokens.push({ text: code.slice(last, m.index), kind: "plain" });
    const kind: Token["kind"] = m[1] ? "comment" : m[2] ? "string" : m[3] ? "number" : keywords.has(m[4] ?? "") ? "keyword" : "plain";
    tokens.push({ text: m[0], kind });
    last = m.index + m[0].length;
  }
  if (last < code.length) tokens.push({ text: code.slice(last), kind: "plain" });
  return tokens;
}

/** A code editor: a transparent textarea over a highlighted mirror (Tab inserts spaces). */
export function CodeField({ value, onChange, language, testId }: { value: string; onChange: (v: string) => void; language: string; testId?: string }) {
  const mirror = useRef<HTMLPreElement>(null);
  const tokens = useMemo(() => highlight(value, language), [value, language]);
  return (
    <div className="wf-code">
      <pre ref={mirror} aria-hidden="true">
        {tokens.map((tok, i) => (tok.kind === "plain" ? tok.text : <span key={i} className={`tok-${tok.kind}`}>{tok.text}</span>))}
        {"\u200b"}
      </pre>
      <textarea
        value={value}
        spellCheck={false}
        data-testid={testId}
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (mirror.current) {
            mirror.current.scrollTop = e.currentTarget.scrollTop;
            mirror.current.scrollLeft = e.currentTarget.scrollLeft;
          }
        }}
        onKeyDown={(e) => {
          if (e.key !== "Tab") return;
          e.preventDefault();
          const el = e.currentTarget;
          const at = el.selectionStart;
          onChange(value.slice(0, at) + "    " + value.slice(el.selectionEnd));
          requestAnimationFrame(() => el.setSelectionRange(at + 4, at + 4));
        }}
      />
    </div>
  );
}

/** Any JSON value, edited as text; applied when it parses. */
export function JsonField({ value, onChange, testId, rows = 12 }: { value: unknown; onChange: (v: unknown) => void; testId?: string; rows?: number }) {
  const { t } = useTranslation("canvas");
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <div>
      <textarea
        className="wf-json"
        rows={rows}
        value={text}
        spellCheck={false}
        data-testid={testId}
        onChange={(e) => {
          setText(e.target.value);
          try {
            onChange(JSON.parse(e.target.value) as unknown);
            setError(null);
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          }
        }}
      />
      {error ? <p className="field-error">{t("panel.badJson", { error })}</p> : null}
    </div>
  );
}

/** The LLM picker: `provider\u0000model` options from the workspace's configured providers. */
export function ModelSelect({ value, onChange, models }: { value: { provider?: string; name?: string } | undefined; onChange: (provider: string, name: string) => void; models: ProviderWithModels[] }) {
  const { t } = useTranslation("canvas");
  const current = value?.provider && value.name ? `${value.provider}\u0000${value.name}` : "";
  const listed = models.some((p) => p.models.some((m) => `${p.provider}\u0000${m.model}` === current));
  return (
    <select
      value={current}
      data-testid="model-select"
      aria-label={t("panel.model")}
      onChange={(e) => {
        const [provider = "", name = ""] = e.target.value.split("\u0000");
        onChange(provider, name);
      }}
    >
      <option value="">{t("panel.pickModel")}</option>
      {current && !listed ? <option value={current}>{`${value?.provider} / ${value?.name} (${t("panel.notConfigured")})`}</option> : null}
      {models.map((p) => (
        <optgroup key={p.provider} label={p.provider}>
          {p.models.map((m) => (
            <option key={m.model} value={`${p.provider}\u0000${m.model}`}>
              {m.model}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}

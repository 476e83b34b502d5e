/** Environment variables (read-only at run time, `env.*`) and conversation variables (chatflows, `conversation.*`). */
import { useTranslation } from "react-i18next";
import { newCaseId, type FlowMode } from "./catalog";
import { VARIABLE_NAME } from "../lib/prompt";
import type { ConversationVariable, EnvVariable } from "./variables";

const ENV_TYPES = ["string", "number", "secret"];
const CONVERSATION_TYPES = ["string", "number", "object", "array[string]", "array[number]", "array[object]"];

function Rows<T extends EnvVariable>({ rows, types, onChange, testId, make }: { rows: T[]; types: string[]; onChange: (rows: T[]) => void; testId: string; make: (n: number) => T }) {
  const { t } = useTranslation("canvas");
  const patch = (i: number, p: Partial<T>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...p } : r)));
  return (
    <div className="stack-tight" data-testid={testId}>
      {rows.map((row, i) => (
        <div className="wf-card stack-tight" key={row.id ?? i}>
          <div className="wf-row">
            <input type="text" className={VARIABLE_NAME.test(row.name) ? "wf-name" : "wf-name wf-invalid"} value={row.name} aria-label={t("panel.variableName")} onChange={(e) => patch(i, { name: e.target.value } as Partial<T>)} />
            <select value={row.value_type} aria-label={t("panel.type")} onChange={(e) => patch(i, { value_type: e.target.value } as Partial<T>)}>
              {types.map((x) => (
                <option key={x}>{x}</option>
              ))}
            </select>
            <button type="button" className="btn btn-ghost btn-small" aria-label={t("panel.remove")} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
          <input
            type={row.value_type === "secret" ? "password" : "text"}
            value={typeof row.value === "string" || typeof row.value === "number" ? String(row.value) : JSON.stringify(row.value ?? "")}
            aria-label={t("panel.value")}
            placeholder={t("panel.value")}
            onChange={(e) => {
              const raw = e.target.value;
              let value: unknown = raw;
              if (row.value_type === "number") value = raw === "" ? "" : Number(raw);
              else if (row.value_type.startsWith("array") || row.value_type === "object") {
                try {
                  value = JSON.parse(raw) as unknown;
                } catch {
                  value = raw;
                }
              }
              patch(i, { value } as Partial<T>);
            }}
          />
          <input type="text" value={row.description ?? ""} placeholder={t("panel.description")} aria-label={t("panel.description")} onChange={(e) => patch(i, { description: e.target.value } as Partial<T>)} />
        </div>
      ))}
      <button type="button" className="btn btn-small" data-testid={`${testId}-add`} onClick={() => onChange([...rows, make(rows.length + 1)])}>
        + {t("panel.addVariable")}
      </button>
    </div>
  );
}

export function VariablesPanel({
  mode,
  env,
  conversation,
  onEnv,
  onConversation,
}: {
  mode: FlowMode;
  env: EnvVariable[];
  conversation: ConversationVariable[];
  onEnv: (rows: EnvVariable[]) => void;
  onConversation: (rows: ConversationVariable[]) => void;
}) {
  const { t } = useTranslation("canvas");
  return (
    <div className="stack">
      <section>
        <h4>{t("vars.env")}</h4>
        <p className="muted small">{t("vars.envHint")}</p>
        <Rows rows={env} types={ENV_TYPES} testId="env-vars" onChange={onEnv} make={(n) => ({ id: newCaseId(), name: `env_${n}`, value: "", value_type: "string", description: "" })} />
      </section>
      {mode === "advanced-chat" ? (
        <section>
          <h4>{t("vars.conversation")}</h4>
          <p className="muted small">{t("vars.conversationHint")}</p>
          <Rows
            rows={conversation}
            types={CONVERSATION_TYPES}
            testId="conversation-vars"
            onChange={(rows) => onConversation(rows.map((r) => ({ ...r, selector: ["conversation", r.name] })))}
            make={(n) => ({ id: newCaseId(), name: `var_${n}`, value: "", value_type: "string", description: "", selector: ["conversation", `var_${n}`] })}
          />
        </section>
      ) : null}
    </div>
  );
}

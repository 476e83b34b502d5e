import { useTranslation } from "react-i18next";
import { clampNumber, initialValue, localized, type ParameterRule } from "../lib/params";

/**
 * The model's parameters, generated from its `parameter_rules`: each row can be switched on (sent
 * in `completion_params`) or off (the model's default). Numbers get a slider and a box.
 */
export function ParameterForm({
  rules,
  value,
  onChange,
}: {
  rules: ParameterRule[];
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
}) {
  const { t, i18n } = useTranslation();
  if (rules.length === 0) return <p className="muted small">{t("editor.noParameters")}</p>;
  const set = (name: string, v: unknown) => onChange({ ...value, [name]: v });
  const toggle = (rule: ParameterRule, on: boolean) => {
    const next = { ...value };
    if (on) next[rule.name] = initialValue(rule);
    else delete next[rule.name];
    onChange(next);
  };
  return (
    <div className="stack" data-testid="parameter-form">
      {rules.map((rule) => {
        const on = rule.name in value;
        const label = localized(rule.label, i18n.language) || rule.name;
        const id = `param-${rule.name}`;
        const current = value[rule.name];
        let control;
        if (rule.type === "float" || rule.type === "int") {
          const step = rule.type === "int" ? 1 : 1 / 10 ** (rule.precision ?? 2);
          const num = typeof current === "number" ? current : Number(initialValue(rule));
          const ranged = rule.min !== undefined && rule.max !== undefined;
          control = (
            <>
              {ranged ? (
                <input
                  type="range"
                  min={rule.min}
                  max={rule.max}
                  step={step}
                  value={num}
                  disabled={!on}
                  aria-label={label}
                  onChange={(e) => set(rule.name, clampNumber(rule, Number(e.target.value)))}
                />
              ) : (
                <span />
              )}
              <input
                id={id}
                type="number"
                min={rule.min}
                max={rule.max}
                step={step}
                value={num}
                disabled={!on}
                onChange={(e) => set(rule.name, clampNumber(rule, Number(e.target.value)))}
              />
            </>
          );
        } else if (rule.type === "boolean") {
          control = (
            <>
              <select
                id={id}
                disabled={!on}
                value={String(Boolean(current))}
                onChange={(e) => set(rule.name, e.target.value === "true")}
              >
                <option value="true">{t("common.yes")}</option>
                <option value="false">{t("common.no")}</option>
              </select>
              <span />
            </>
          );
        } else if (rule.options && rule.options.length > 0) {
          control = (
            <>
              <select id={id} disabled={!on} value={String(current ?? "")} onChange={(e) => set(rule.name, e.target.value)}>
                {rule.options.map((option) => (
                  <option key={option} value={option}>
                    {option}
                  </option>
                ))}
              </select>
              <span />
            </>
          );
        } else {
          control = (
            <>
              <input
                id={id}
                type="text"
                disabled={!on}
                value={String(current ?? "")}
                onChange={(e) => set(rule.name, e.target.value)}
              />
              <span />
            </>
          );
        }
        return (
          <div className="param-row" key={rule.name} data-param={rule.name}>
            <input
              type="checkbox"
              checked={on}
              disabled={rule.required}
              aria-label={t("editor.useParameter", { name: label })}
              onChange={(e) => toggle(rule, e.target.checked)}
            />
            <label htmlFor={id} title={localized(rule.help, i18n.language)}>
              {label}
            </label>
            {control}
          </div>
        );
      })}
    </div>
  );
}

import type { FormItem, FormSpec } from "../api/models";

/** One `user_input_form` item as `[kind, spec]`. */
export function formEntry(item: FormItem): [string, FormSpec] | null {
  const entry = Object.entries(item).find(([, spec]) => spec !== undefined);
  return entry ? [entry[0], entry[1] as FormSpec] : null;
}

/** The end-user form for an app's input variables. */
export function InputsForm({
  form,
  values,
  onChange,
}: {
  form: FormItem[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  return (
    <div className="stack" data-testid="inputs-form">
      {form.map((item) => {
        const entry = formEntry(item);
        if (!entry) return null;
        const [kind, spec] = entry;
        const id = `input-${spec.variable}`;
        const value = values[spec.variable] ?? spec.default ?? "";
        const set = (v: string) => onChange({ ...values, [spec.variable]: v });
        const max = spec.max_length || undefined;
        let control;
        if (kind === "paragraph") control = <textarea id={id} value={value} maxLength={max} onChange={(e) => set(e.target.value)} />;
        else if (kind === "select")
          control = (
            <select id={id} value={value} onChange={(e) => set(e.target.value)}>
              <option value="" />
              {(spec.options ?? []).map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          );
        else if (kind === "number") control = <input id={id} type="number" value={value} onChange={(e) => set(e.target.value)} />;
        else control = <input id={id} type="text" value={value} maxLength={max} onChange={(e) => set(e.target.value)} />;
        return (
          <div className="field" key={spec.variable}>
            <label htmlFor={id}>
              {spec.label || spec.variable}
              {spec.required ? " *" : ""}
            </label>
            {control}
          </div>
        );
      })}
    </div>
  );
}

/** The names of required inputs that are still empty. */
export function missingInputs(form: FormItem[], values: Record<string, string>): string[] {
  return form
    .map(formEntry)
    .filter((e): e is [string, FormSpec] => e !== null && e[1].required && !(values[e[1].variable] ?? e[1].default ?? "").trim())
    .map(([, spec]) => spec.label || spec.variable);
}

import type { ReactNode } from "react";
import type { FormError } from "./errors";

interface FieldProps {
  id: string;
  label: string;
  error?: string | null;
  hint?: string;
  children: ReactNode;
}

/** A labelled form control with its error (shown where it happens) or hint underneath. */
export function Field({ id, label, error, hint, children }: FieldProps) {
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <p className="field-error" role="alert" id={`${id}-error`}>
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint">{hint}</p>
      ) : null}
    </div>
  );
}

/** A form-level error (one not tied to a field): the message, with the server's code and status. */
export function FormAlert({ error }: { error: FormError | null }) {
  if (!error || error.field !== null) return null;
  return (
    <div className="alert" role="alert" data-testid="form-error">
      {error.message}
      {error.code ? (
        <span className="alert-code">
          {error.code} · {error.status}
        </span>
      ) : null}
    </div>
  );
}

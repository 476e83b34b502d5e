import type { TFunction } from "i18next";
import { ApiError } from "../api/client";

/** A failed request split into the field it names (from `params`) and the message to show. */
export interface FormError {
  field: string | null;
  message: string;
  code?: string;
  status?: number;
}

export function toFormError(error: unknown, t: TFunction, fields: readonly string[] = []): FormError {
  if (error instanceof ApiError) {
    const field = error.params && fields.includes(error.params) ? error.params : null;
    return { field, message: error.message || t("errors.generic"), code: error.code, status: error.status };
  }
  if (error instanceof TypeError) return { field: null, message: t("errors.network") };
  return { field: null, message: t("errors.generic") };
}

export function fieldMessage(error: FormError | null, field: string): string | null {
  return error && error.field === field ? error.message : null;
}

export function formMessage(error: FormError | null): string | null {
  return error && error.field === null ? error.message : null;
}

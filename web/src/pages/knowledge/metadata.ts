/**
 * Knowledge metadata as the console API answers it (Dify 1.1+): a dataset's fields, typed `string`,
 * `number` or `time` (a Unix timestamp in seconds), and the values a document holds for them.
 */

export const METADATA_TYPES = ["string", "number", "time"] as const;
export type MetadataType = (typeof METADATA_TYPES)[number];

/** The built-in fields, computed from each document when shown (never stored). */
export const BUILT_IN_FIELDS = ["document_name", "uploader", "upload_date", "last_update_date", "source"] as const;
export const BUILT_IN_ID = "built-in";

/** One field of `GET /datasets/{id}/metadata`. */
export interface MetadataField {
  id: string;
  name: string;
  type: MetadataType;
  count: number;
}

/** `GET /datasets/{id}/metadata`. */
export interface MetadataList {
  doc_metadata: MetadataField[];
  built_in_field_enabled: boolean;
}

/** One item of a document's `doc_metadata` (`GET …/documents/{id}?metadata=only`). */
export interface MetadataValue {
  id: string;
  name: string;
  type: MetadataType;
  value: string | number | null;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** A Unix timestamp (seconds) as the local `YYYY-MM-DDTHH:mm` a `datetime-local` input shows. */
export function toInputTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (local time) as a Unix timestamp in seconds; null when it is not a time. */
export function fromInputTime(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return null;
  const millis = new Date(text).getTime();
  return Number.isFinite(millis) ? Math.floor(millis / 1000) : null;
}

/** A stored value as the text of its input (numbers as typed, times in local time). */
export function toInput(type: MetadataType, value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  if (type === "time") {
    const seconds = typeof value === "number" ? value : Number(value);
    return Number.isFinite(seconds) ? toInputTime(seconds) : String(value);
  }
  return String(value);
}

/**
 * The text of an input as the value to send for a field of `type`: `undefined` for an empty input
 * (the document holds no value), `null` for text that is not a value of that type.
 */
export function fromInput(type: MetadataType, text: string): string | number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (type === "string") return text;
  if (type === "number") {
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : null;
  }
  return fromInputTime(trimmed);
}

/**
 * A small typed fetch wrapper over the generated OpenAPI types (`schema.d.ts`, from `npm run gen:api`).
 *
 * Paths, path parameters, query parameters and request bodies are all checked against the generated
 * `paths` type. The server declares most responses as free-form objects, so callers name the response
 * shape they read (see `models.ts`).
 */
import type { paths } from "./schema";

export type Method = "get" | "post" | "put" | "patch" | "delete";
export type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined | never ? never : P;
}[keyof paths];

export type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : never;
export type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
export type PathOf<O> = O extends { parameters: { path: infer P } } ? P : never;

export type RequestOptions<O> = {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: JsonBody<O>;
  /** Do not try the refresh token / redirect on 401 (sign-in and refresh themselves). */
  noAuthRetry?: boolean;
};

/** The server's error JSON: `{code, message, status, params?}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly params: string | undefined;

  constructor(status: number, code: string, message: string, params?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.params = params;
  }
}

const ACCESS = "loomworks.access_token";
const REFRESH = "loomworks.refresh_token";

export const tokens = {
  access: (): string | null => localStorage.getItem(ACCESS),
  refresh: (): string | null => localStorage.getItem(REFRESH),
  set(access: string, refresh: string): void {
    localStorage.setItem(ACCESS, access);
    localStorage.setItem(REFRESH, refresh);
  },
  clear(): void {
    localStorage.removeItem(ACCESS);
    localStorage.removeItem(REFRESH);
  },
};

let onSignedOut: () => void = () => {
  window.location.assign("/signin");
};

/** Called when the session cannot be renewed (the app navigates to /signin). */
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

export function buildUrl(template: string, path: unknown, query: unknown): string {
  let url = fillPath(template, path as Record<string, unknown> | undefined);
  if (query && typeof query === "object") {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
      if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
      else if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
    }
    const text = search.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

export async function toError(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { code?: string; message?: string; params?: string };
    return new ApiError(response.status, body.code ?? "unknown", body.message ?? response.statusText, body.params);
  } catch {
    return new ApiError(response.status, "unknown", response.statusText || `HTTP ${response.status}`);
  }
}

let refreshing: Promise<boolean> | null = null;

/** Trade the refresh token for a new pair; concurrent callers share one attempt. */
function refreshOnce(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      const refreshToken = tokens.refresh();
      if (!refreshToken) return false;
      const body: JsonBody<Op<"/console/api/refresh-token", "post">> = { refresh_token: refreshToken };
      const response = await fetch("/console/api/refresh-token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) return false;
      const pair = (await response.json()) as { data: { access_token: string; refresh_token: string } };
      tokens.set(pair.data.access_token, pair.data.refresh_token);
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function send(method: Method, url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const access = tokens.access();
  if (access) headers.Authorization = `Bearer ${access}`;
  const isForm = body instanceof FormData;
  if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  return fetch(url, {
    method: method.toUpperCase(),
    headers,
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    signal,
  });
}

/**
 * Send a console request, renewing the session once on 401 (then signing out). Returns the raw
 * response: `api()` reads JSON from it, streaming callers read its body as events.
 */
export async function consoleFetch(
  method: Method,
  url: string,
  body?: unknown,
  options: { noAuthRetry?: boolean; signal?: AbortSignal } = {},
): Promise<Response> {
  let response = await send(method, url, body, options.signal);
  if (response.status === 401 && !options.noAuthRetry) {
    if (await refreshOnce()) response = await send(method, url, body, options.signal);
    if (response.status === 401) {
      tokens.clear();
      onSignedOut();
      throw await toError(response);
    }
  }
  if (!response.ok) throw await toError(response);
  return response;
}

/** Upload one file with progress (fetch cannot report upload progress; XHR can). */
export function uploadFile<T>(url: string, file: File, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    const access = tokens.access();
    if (access) xhr.setRequestHeader("Authorization", `Bearer ${access}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onerror = () => reject(new TypeError("network error"));
    xhr.onload = () => {
      let body: { code?: string; message?: string; params?: string } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(new ApiError(xhr.status, body.code ?? "unknown", body.message ?? xhr.statusText, body.params));
    };
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

/**
 * Call the API. `T` is the response shape the caller reads; the path, method and options are typed
 * from the OpenAPI document.
 */
export async function api<T, M extends Method = Method, P extends PathsWith<M> = PathsWith<M>>(
  method: M,
  template: P,
  options: RequestOptions<Op<P, M>> = {},
): Promise<T> {
  const url = buildUrl(template, options.path, options.query);
  const response = await consoleFetch(method, url, options.body, { noAuthRetry: options.noAuthRetry });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * A typed call that returns the raw response (for event streams and downloads): the path, method,
 * parameters and body are checked against the OpenAPI document like `api()`.
 */
export function apiRaw<M extends Method = Method, P extends PathsWith<M> = PathsWith<M>>(
  method: M,
  template: P,
  options: RequestOptions<Op<P, M>> = {},
  signal?: AbortSignal,
): Promise<Response> {
  const url = buildUrl(template, options.path, options.query);
  return consoleFetch(method, url, options.body, { noAuthRetry: options.noAuthRetry, signal });
}

/**
 * The end-user web-app API (`/api/...`): a passport per app code, kept in this browser, sent as a
 * bearer token with the `X-App-Code` header. A rejected passport is replaced once.
 */
import { ApiError, buildUrl, toError, type JsonBody, type Method, type Op, type PathOf, type PathsWith, type QueryOf } from "./client";

const key = (code: string) => `loomworks.passport.${code}`;

async function passport(code: string, renew: boolean): Promise<string> {
  const stored = renew ? null : localStorage.getItem(key(code));
  if (stored) return stored;
  const response = await fetch("/api/passport", { headers: { "X-App-Code": code, Accept: "application/json" } });
  if (!response.ok) throw await toError(response);
  const body = (await response.json()) as { access_token: string };
  localStorage.setItem(key(code), body.access_token);
  return body.access_token;
}

/** Send a web-app request for the app behind `code`; returns the raw (successful) response.
 * A `FormData` body goes out as multipart (uploads, recordings); anything else as JSON. */
export async function webFetch(
  code: string,
  method: Method,
  url: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const attempt = async (renew: boolean) => {
    const token = await passport(code, renew);
    const multipart = body instanceof FormData;
    return fetch(url, {
      method: method.toUpperCase(),
      headers: {
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
        "X-App-Code": code,
        // The browser sets the multipart boundary itself.
        ...(body === undefined || multipart ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : multipart ? body : JSON.stringify(body),
      signal,
    });
  };
  let response = await attempt(false);
  if (response.status === 401) response = await attempt(true);
  if (!response.ok) throw await toError(response);
  return response;
}

type Options<O> = { path?: PathOf<O>; query?: QueryOf<O>; body?: JsonBody<O> };

/** A typed web-app call (paths and bodies from the OpenAPI document). */
export async function webApi<T, M extends Method = Method, P extends PathsWith<M> = PathsWith<M>>(
  code: string,
  method: M,
  template: P,
  options: Options<Op<P, M>> = {},
): Promise<T> {
  const response = await webFetch(code, method, buildUrl(template, options.path, options.query), options.body);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export { ApiError };

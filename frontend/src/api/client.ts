// One fetch for every API call: the session's token, problem details as ApiError.

const TOKEN_KEY = "batchyard.token";

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("batchyard-token"));
}

/** Told when the server asks for a token (401), so the page can show its login field. */
export const authNeeded = new EventTarget();

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function failure(response: Response): Promise<ApiError> {
  let title = response.statusText || "Error";
  let detail = `${response.status} ${title}`;
  let errors: FieldError[] = [];
  try {
    const body = await response.json();
    title = body.title ?? title;
    detail = body.detail || detail;
    errors = body.errors ?? [];
  } catch {
    // not a problem document (a proxy's page): the status says enough
  }
  if (response.status === 401) authNeeded.dispatchEvent(new Event("needed"));
  return new ApiError(response.status, title, detail, errors);
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const extra: Record<string, string> = json !== undefined ? { "Content-Type": "application/json" } : {};
  let response: Response;
  try {
    response = await fetch(path, {
      ...rest,
      headers: headers({ ...extra, ...((rest.headers as Record<string, string>) ?? {}) }),
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
  } catch {
    throw new ApiError(0, "Unreachable", "the server does not answer; is batchyard serve running?");
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Query string of the set values; arrays repeat their key. */
export function query(params: Record<string, unknown>): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => out.append(key, String(v)));
    else out.append(key, String(value));
  }
  const text = out.toString();
  return text ? `?${text}` : "";
}

/** Download a file from the API (with the token, which a plain link cannot send). */
export async function download(path: string, fallbackName: string): Promise<void> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

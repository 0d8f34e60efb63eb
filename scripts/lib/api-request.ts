/**
 * One call to the Todo API the way a mobile client makes it: an optional bearer token, a JSON or
 * form body, a timeout, and no silent redirects (an API that redirects is a finding, not a detour).
 * The smoke test and the rehearsal both speak through it.
 */
export interface ApiRequestInit {
  json?: unknown;
  form?: Record<string, string>;
  token?: string;
  timeoutMs?: number;
}

export interface ApiReply {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
  text: string;
}

export async function apiRequest(
  baseUrl: string,
  method: string,
  path: string,
  init: ApiRequestInit = {},
): Promise<ApiReply> {
  const headers: Record<string, string> = { accept: "application/json", "user-agent": "todo-api-scripts/1" };
  let body: string | undefined;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(init.form).toString();
  }
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  // Relative to the base, so an API served under a path prefix (https://host/prefix/) works too.
  const url = new URL(path.replace(/^\//, ""), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  const res = await fetch(url, {
    method,
    headers,
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(init.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: callers report the text when it matters
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

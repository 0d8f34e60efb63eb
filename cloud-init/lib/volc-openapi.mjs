// A Volcengine OpenAPI client for the server kit: the query-style actions (ECS 2020-04-01, Auto
// Scaling 2020-01-01) signed with Volcengine's V4 algorithm (`HMAC-SHA256`, scope
// `<yyyymmdd>/<region>/<service>/request`), as the official SDKs sign them (volc-sdk-golang,
// base/sign.go, which volcengine-go-sdk uses). node:crypto only, no dependency: like offsite.mjs
// it is copied onto the bare server and run with the server's Node.js.
//
// Credentials are the instance role's STS credentials (role-client.mjs's roleCredentials); the
// session token travels in X-Security-Token, which is signed. Nothing here prints a credential:
// errors carry the action, the HTTP status and the API's error code and message only.
import { createHash, createHmac } from "node:crypto";

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();

/**
 * RFC 3986 encoding of a query name or value, as the SDK's canonical query has it (Go's
 * url.QueryEscape with "+" turned into "%20"): everything but A-Z a-z 0-9 - _ . ~ escaped.
 */
export function encodeRfc3986(value) {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Parameters as the query protocol wants them: `A.1`, `A.2` for lists, `A.B` for objects. */
export function flatten(params, prefix = "") {
  if (Array.isArray(params)) return params.flatMap((v, i) => flatten(v, `${prefix}.${i + 1}`));
  if (params !== null && typeof params === "object")
    return Object.entries(params).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
  return params === undefined ? [] : [[prefix, String(params)]];
}

/** The canonical query: sorted by name (byte order, as Go sorts), values kept in their order. */
export function canonicalQuery(pairs) {
  return [...pairs]
    .map((p, i) => [...p, i])
    .sort(([a, , i], [b, , j]) => (a < b ? -1 : a > b ? 1 : i - j))
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
    .join("&");
}

const xDate = (now) =>
  now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");

/**
 * The headers of a signed request: Content-Type, Host, X-Content-Sha256, X-Date, X-Security-Token
 * (with a session token) and Authorization. `url` carries the query exactly as it is sent;
 * the canonical request re-encodes it, so the signature does not depend on how it was written.
 */
export function signRequest({ method = "GET", url, body = "", service, region, creds, now = new Date() }) {
  const date = xDate(now);
  // The SDK drops a default port from the signed Host (and only those ports).
  const host = url.host.replace(/:(80|443)$/, "");
  const headers = {
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host,
    "x-content-sha256": sha256(body),
    "x-date": date,
  };
  if (creds.token) headers["x-security-token"] = creds.token;
  const names = Object.keys(headers).sort();
  const canonical = [
    method,
    url.pathname
      .split("/")
      .map((part) => encodeRfc3986(decodeURIComponent(part)))
      .join("/"),
    canonicalQuery(url.searchParams),
    names.map((n) => `${n}:${String(headers[n]).trim()}\n`).join(""),
    names.join(";"),
    headers["x-content-sha256"],
  ].join("\n");
  const scope = `${date.slice(0, 8)}/${region}/${service}/request`;
  const toSign = ["HMAC-SHA256", date, scope, sha256(canonical)].join("\n");
  const key = [region, service, "request"].reduce(hmac, hmac(creds.secret, date.slice(0, 8)));
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    ...headers,
    authorization: `HMAC-SHA256 Credential=${creds.id}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

/** An action the API answered with an error (or an answer that is not the API's JSON). */
export class ApiRefusal extends Error {
  constructor(action, status, code, message) {
    super(`${action} refused: HTTP ${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`);
    this.action = action;
    this.status = status;
    this.code = code;
  }
}

/**
 * One action: GET `<endpoint>/?Action=…&Version=…&<params>`, signed; returns its `Result`.
 * `creds`: { id, secret, token }. Network errors and timeouts are thrown as they come (no retry:
 * the seed's next pass is the retry).
 */
export async function callAction({
  endpoint,
  region,
  creds,
  service,
  version,
  action,
  params = {},
  timeoutMs = 15_000,
}) {
  const url = new URL(`${endpoint.replace(/\/+$/, "")}/`);
  url.search = canonicalQuery([["Action", action], ["Version", version], ...flatten(params)]);
  const headers = signRequest({ url, service, region, creds });
  delete headers.host; // fetch sets it from the URL (the same value)
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiRefusal(action, res.status, "", `not a JSON answer (${text.slice(0, 80).replace(/\s+/g, " ")})`);
  }
  const error = body?.ResponseMetadata?.Error;
  if (!res.ok || error) throw new ApiRefusal(action, res.status, error?.Code ?? "", error?.Message ?? "");
  return body.Result ?? {};
}

import { createHash, createHmac } from "node:crypto";

/** A Volcengine V4-signed OpenAPI call as the SDK makes it: GET, parameters in the query, 1-based lists. */
export async function openApi(
  url: string,
  service: string,
  action: string,
  params: Record<string, unknown> = {},
  opts: { version?: string; region?: string; authorization?: string | null } = {},
): Promise<{ status: number; body: any }> {
  const query = new URLSearchParams({ Action: action, Version: opts.version ?? "2020-04-01" });
  for (const [k, v] of flatten(params)) query.set(k, v);
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const region = opts.region ?? "cn-beijing";
  const scope = `${date.slice(0, 8)}/${region}/${service}/request`;
  const canonical = [
    "GET",
    "/",
    [...query.entries()]
      .sort()
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join("&"),
    `host:127.0.0.1\nx-date:${date}\n`,
    "host;x-date",
    createHash("sha256").update("").digest("hex"),
  ].join("\n");
  const toSign = ["HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const key = ["request", service, region, date.slice(0, 8)].reduceRight(
    (k, part) => createHmac("sha256", k).update(part).digest(),
    Buffer.from("any-secret") as Buffer,
  );
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const headers: Record<string, string> = { "X-Date": date };
  const auth =
    opts.authorization === undefined
      ? `HMAC-SHA256 Credential=AKLTtest/${scope}, SignedHeaders=host;x-date, Signature=${signature}`
      : opts.authorization;
  if (auth !== null) headers.Authorization = auth;
  const res = await fetch(`${url}/?${query}`, { headers });
  return { status: res.status, body: await res.json() };
}

function flatten(v: unknown, prefix = ""): [string, string][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => flatten(x, `${prefix}.${i + 1}`));
  if (v && typeof v === "object")
    return Object.entries(v).flatMap(([k, x]) => flatten(x, prefix ? `${prefix}.${k}` : k));
  return [[prefix, String(v)]];
}

/** Calls `action` until its Result passes `done` (bounded), for states that move with time. */
export async function until<T>(f: () => Promise<T>, done: (x: T) => boolean, tries = 50): Promise<T> {
  for (let i = 0; ; i++) {
    const x = await f();
    if (done(x) || i >= tries) return x;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An OpenAPI call as the provider's universal client makes it for JSON services (CloudMonitor, RDS): POST, JSON body. */
export async function openApiJson(
  url: string,
  service: string,
  action: string,
  params: Record<string, unknown> = {},
  opts: { version?: string; region?: string } = {},
): Promise<{ status: number; body: any }> {
  const query = new URLSearchParams({ Action: action, Version: opts.version ?? "2022-01-01" });
  const date = amzDate();
  const region = opts.region ?? "cn-beijing";
  const headers = {
    "X-Date": date,
    "Content-Type": "application/json; charset=utf-8",
    Authorization: `HMAC-SHA256 Credential=AKLTtest/${date.slice(0, 8)}/${region}/${service}/request, SignedHeaders=content-type;host;x-date, Signature=${"0".repeat(64)}`,
  };
  const res = await fetch(`${url}/?${query}`, { method: "POST", headers, body: JSON.stringify(params) });
  return { status: res.status, body: await res.json() };
}

/**
 * A TOS request as the provider's TOS client makes it (TOS4-HMAC-SHA256 with X-Tos-Date), path style:
 * `/<bucket>/<key>?<sub-resource>` (the stand-in also accepts `<bucket>.tos-<region>.volces.com`).
 */
export async function tos(
  url: string,
  method: string,
  bucket: string,
  opts: {
    key?: string;
    sub?: string;
    /** Query parameters besides the sub-resource (`versionId`, `prefix`). */
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: unknown;
    raw?: string;
    region?: string;
    authorization?: string | null;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const date = amzDate();
  const region = opts.region ?? "cn-beijing";
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = { "X-Tos-Date": date, ...opts.headers };
  if (body !== undefined && opts.raw === undefined) {
    headers["Content-Type"] = "application/json";
    headers["Content-MD5"] = createHash("md5").update(body).digest("base64");
  }
  const auth =
    opts.authorization === undefined
      ? `TOS4-HMAC-SHA256 Credential=AKLTtest/${date.slice(0, 8)}/${region}/tos/request, SignedHeaders=host;x-tos-date, Signature=${"a".repeat(64)}`
      : opts.authorization;
  if (auth !== null) headers.Authorization = auth;
  const path = [bucket, opts.key].filter(Boolean).join("/");
  const query = new URLSearchParams(opts.sub ? { [opts.sub]: "" } : {});
  for (const [k, v] of Object.entries(opts.query ?? {})) query.set(k, v);
  const res = await fetch(`${url}/${path}${query.size ? `?${query}` : ""}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

function amzDate(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

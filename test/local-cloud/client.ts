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
  const date = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const region = opts.region ?? "cn-beijing";
  const scope = `${date.slice(0, 8)}/${region}/${service}/request`;
  const canonical = ["GET", "/", [...query.entries()].sort().map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"), `host:127.0.0.1\nx-date:${date}\n`, "host;x-date", createHash("sha256").update("").digest("hex")].join("\n");
  const toSign = ["HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const key = ["request", service, region, date.slice(0, 8)].reduceRight((k, part) => createHmac("sha256", k).update(part).digest(), Buffer.from("any-secret") as Buffer);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const headers: Record<string, string> = { "X-Date": date };
  const auth = opts.authorization === undefined ? `HMAC-SHA256 Credential=AKLTtest/${scope}, SignedHeaders=host;x-date, Signature=${signature}` : opts.authorization;
  if (auth !== null) headers.Authorization = auth;
  const res = await fetch(`${url}/?${query}`, { headers });
  return { status: res.status, body: await res.json() };
}

function flatten(v: unknown, prefix = ""): [string, string][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => flatten(x, `${prefix}.${i + 1}`));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => flatten(x, prefix ? `${prefix}.${k}` : k));
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

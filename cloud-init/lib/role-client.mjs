// The instance role's requests, shared by the kit's Node.js commands (offsite.mjs, seed.mjs,
// volc-openapi.mjs, fleet-join.mjs, fleet-publish.mjs): the host settings reader, one HTTP
// exchange, the role's temporary credentials from the ECS metadata service, and the AWS Signature
// V4 signer that TOS's S3 API wants. Node.js standard library only: it runs on the bare server, and
// a scaled-out server's user data carries it with fleet-join.mjs (so it holds only what that needs).
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { pipeline } from "node:stream/promises";

/**
 * A reader of one setting: the environment's value, else the host settings file's (`KEY='value'`
 * lines written by cloud-init, values never containing a quote; TODO_HOST_CONF or
 * /etc/todo-host.conf; a missing file is no settings), else the default.
 */
export function hostSettings(env = process.env) {
  const conf = {};
  try {
    for (const m of readFileSync(env.TODO_HOST_CONF || "/etc/todo-host.conf", "utf8").matchAll(
      /^([A-Z_]+)='([^']*)'$/gm,
    ))
      conf[m[1]] = m[2];
  } catch {}
  return (k, d) => env[k] || conf[k] || d;
}

/** One HTTP exchange; `body` is a function returning a fresh stream (retries re-read the file). */
export function send(url, { method = "GET", headers = {}, body, sink } = {}) {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).request(url, { method, headers, timeout: 60_000 }, (res) => {
      if (sink && res.statusCode === 200) {
        pipeline(res, sink()).then(() => resolve({ status: 200, headers: res.headers, text: "" }), reject);
        return;
      }
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout talking to ${url.host}`)));
    req.on("error", reject);
    if (body) body().on("error", reject).pipe(req);
    else req.end();
  });
}

// (volcengine/volcengine-go-sdk, volcengine/credentials/ecs_role_provider.go): GET /latest/api/token
// with a TTL header returns a token; credential requests carry it in X-volc-ecs-metadata-token.
const TOKEN_PATH = "/latest/api/token";
const TOKEN_TTL_HEADER = "X-volc-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER = "X-volc-ecs-metadata-token";
const TOKEN_TTL_SECONDS = "21600"; // the SDK's value (6 hours); we use each token once anyway

/**
 * A fresh metadata token, or undefined when the service has no token endpoint (404/405): a
 * service without one cannot require tokens, so the plain request (as Volcengine's TOS SDKs
 * still send it) is then the right one. Any other failure is retried, never
 * quietly downgraded, so an instance that enforces tokens does not end in a confusing 401.
 */
export async function metadataToken(s) {
  const res = await send(new URL(`${s.metadata}${TOKEN_PATH}`), { headers: { [TOKEN_TTL_HEADER]: TOKEN_TTL_SECONDS } });
  if (res.status === 404 || res.status === 405) return undefined;
  if (res.status !== 200) throw new RetryableError(`metadata service answered ${res.status} for a token`);
  const token = res.text.trim();
  if (!token) throw new RetryableError("metadata service returned an empty token");
  return token;
}

/** Temporary credentials of the instance's role (fields as in the Go SDK's imdsCredentialResponse). */
export async function roleCredentials(s) {
  const token = await metadataToken(s);
  const url = new URL(`${s.metadata}/volcstack/latest/iam/security_credentials/${encodeURIComponent(s.role)}`);
  const res = await send(url, { headers: token ? { [TOKEN_HEADER]: token } : {} });
  if (res.status !== 200) throw new RetryableError(`metadata service answered ${res.status} for role ${s.role}`);
  const c = JSON.parse(res.text);
  if (!c.AccessKeyId || !c.SecretAccessKey) throw new Error("metadata service returned no credentials");
  return { id: c.AccessKeyId, secret: c.SecretAccessKey, token: c.SessionToken };
}

const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
export const sha256 = (data) => createHash("sha256").update(data).digest("hex");
// RFC 3986 encoding as SigV4 wants it ("/" kept in paths).
export const enc = (v, keepSlash) => {
  const e = encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? e.replace(/%2F/g, "/") : e;
};

/** Adds the AWS Signature V4 headers for service "s3" to a request. */
export function signV4({ method, url, headers, payloadHash, creds, region, now = new Date() }) {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const all = { ...headers, host: url.host, "x-amz-date": amzDate, "x-amz-content-sha256": payloadHash };
  if (creds.token) all["x-amz-security-token"] = creds.token;
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const query = [...url.searchParams]
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join("&");
  const canonical = [
    method,
    url.pathname,
    query,
    names.map((n) => `${n}:${lower[n]}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  const key = ["s3", "aws4_request"].reduce(hmac, hmac(hmac(`AWS4${creds.secret}`, day), region));
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.id}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

export class RetryableError extends Error {}

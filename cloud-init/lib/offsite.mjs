// todo-offsite — copies database dumps to and from the environment's TOS bucket.
//
//   node offsite.mjs upload <file>             store <file> as postgres/<file name>
//   node offsite.mjs list [YYYY-MM-DD]         list stored dumps (of that day), oldest first
//   node offsite.mjs download <key|YYYY-MM-DD|latest> <dir>
//                                              fetch a dump (the day's newest) into <dir>, print its path
//
// TOS speaks the S3 API; requests are signed with AWS Signature V4 (node:crypto, no dependency:
// this one file is copied into every release next to the bundled app, and runs on the bare
// server). Credentials are the temporary ones of the IAM role attached to the instance, read
// from the ECS metadata service for every attempt (they rotate), token first (IMDSv2, see
// metadataToken); nothing secret is stored on disk or printed.
//
// Settings come from the environment, else from the host settings file (/etc/todo-host.conf):
// OFFSITE_BUCKET, OFFSITE_REGION, OFFSITE_ENDPOINT, OFFSITE_ROLE; for tests also
// TODO_METADATA_URL (default http://100.96.0.96), OFFSITE_PATH_STYLE=1 (bucket in the path
// instead of the host name), OFFSITE_RETRY_MS (first retry delay, default 2000) and
// OFFSITE_ATTEMPTS (default 5).
import { createHash, createHmac } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { pipeline } from "node:stream/promises";

const PREFIX = "postgres/";

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

function settings() {
  const get = hostSettings();
  const s = {
    bucket: get("OFFSITE_BUCKET"),
    region: get("OFFSITE_REGION"),
    endpoint: (get("OFFSITE_ENDPOINT") || "").replace(/\/+$/, ""),
    role: get("OFFSITE_ROLE"),
    metadata: get("TODO_METADATA_URL", "http://100.96.0.96").replace(/\/+$/, ""),
    pathStyle: get("OFFSITE_PATH_STYLE") === "1",
    retryMs: Number(get("OFFSITE_RETRY_MS", "2000")),
    attempts: Number(get("OFFSITE_ATTEMPTS", "5")),
  };
  for (const k of ["bucket", "region", "endpoint", "role"]) {
    if (!s[k]) throw new Error(`offsite backups are not configured (OFFSITE_${k.toUpperCase()} missing)`);
  }
  return s;
}

/** One HTTP exchange; `body` is a function returning a fresh stream (retries re-read the file). */
function send(url, { method = "GET", headers = {}, body, sink } = {}) {
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

// ECS metadata service, token mode ("IMDSv2") as Volcengine's official Go SDK speaks it
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
const sha256 = (data) => createHash("sha256").update(data).digest("hex");
// RFC 3986 encoding as SigV4 wants it ("/" kept in paths).
const enc = (v, keepSlash) => {
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

class RetryableError extends Error {}

function objectUrl(s, key, query = {}) {
  const base = new URL(s.endpoint);
  const url = s.pathStyle
    ? new URL(`${base.origin}/${s.bucket}/${enc(key, true)}`)
    : new URL(`${base.protocol}//${s.bucket}.${base.host}/${enc(key, true)}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url;
}

/** A signed S3 request, retried with exponential backoff on network errors, 429 and 5xx. */
async function s3(s, method, key, { query, body, payloadHash = sha256(""), length, sink } = {}) {
  let lastError;
  for (let attempt = 1; attempt <= s.attempts; attempt++) {
    try {
      const creds = await roleCredentials(s);
      const url = objectUrl(s, key, query);
      const headers = signV4({
        method,
        url,
        headers: length !== undefined ? { "content-length": length } : {},
        payloadHash,
        creds,
        region: s.region,
      });
      const res = await send(url, { method, headers, body, sink });
      if (res.status >= 200 && res.status < 300) return res;
      const code = /<Code>([^<]+)<\/Code>/.exec(res.text)?.[1] ?? "";
      const error = `${method} ${key || "/"}: HTTP ${res.status} ${code}`.trim();
      if (res.status === 429 || res.status >= 500) throw new RetryableError(error);
      throw new Error(error);
    } catch (err) {
      lastError = err;
      const retryable = err instanceof RetryableError || err.code !== undefined || /timeout/.test(err.message);
      if (!retryable || attempt === s.attempts) break;
      const wait = s.retryMs * 2 ** (attempt - 1);
      console.error(`todo-offsite: ${err.message}; retrying in ${wait} ms (attempt ${attempt + 1} of ${s.attempts})`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  throw lastError;
}

async function fileSha256(file) {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

export async function upload(s, file) {
  const key = PREFIX + basename(file);
  const length = statSync(file).size;
  await s3(s, "PUT", key, { body: () => createReadStream(file), payloadHash: await fileSha256(file), length });
  return { key, length };
}

export async function list(s, day) {
  const objects = [];
  let token;
  do {
    const query = { "list-type": "2", prefix: PREFIX, ...(token ? { "continuation-token": token } : {}) };
    const { text } = await s3(s, "GET", "", { query });
    for (const [, xml] of text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const field = (n) => new RegExp(`<${n}>([^<]*)</${n}>`).exec(xml)?.[1] ?? "";
      const key = field("Key").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
      objects.push({ key, size: Number(field("Size")), lastModified: field("LastModified") });
    }
    token = /<IsTruncated>true<\/IsTruncated>/.test(text)
      ? /<NextContinuationToken>([^<]+)</.exec(text)?.[1]
      : undefined;
  } while (token);
  // Dump names carry their UTC time (<db>-YYYYMMDDTHHMMSSZ.dump), so name order is time order.
  const stamp = day ? `-${day.replace(/-/g, "")}T` : "";
  return objects
    .filter((o) => o.key.endsWith(".dump") && o.key.includes(stamp))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

export async function download(s, which, dir) {
  let key = which;
  if (which === "latest" || /^\d{4}-?\d{2}-?\d{2}$/.test(which)) {
    const found = await list(s, which === "latest" ? undefined : which);
    if (found.length === 0)
      throw new Error(`no backup in bucket ${s.bucket}${which === "latest" ? "" : ` from ${which}`}`);
    key = found[found.length - 1].key;
  }
  if (!key.startsWith(PREFIX) || key.includes("..")) throw new Error(`not a backup key: ${key}`);
  const out = join(dir, basename(key));
  const partial = join(dir, `.${basename(key)}.partial`);
  try {
    await s3(s, "GET", key, { sink: () => createWriteStream(partial, { mode: 0o600 }) });
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return out;
}

async function main([command, ...args]) {
  const s = settings();
  if (command === "upload" && args.length === 1) {
    const { key, length } = await upload(s, args[0]);
    console.log(`uploaded ${args[0]} to tos://${s.bucket}/${key} (${length} bytes)`);
  } else if (command === "list" && args.length <= 1) {
    for (const o of await list(s, args[0])) console.log(`${o.key}\t${o.size}\t${o.lastModified}`);
  } else if (command === "download" && args.length === 2) {
    console.log(await download(s, args[0], args[1]));
  } else {
    throw new Error("usage: offsite.mjs upload <file> | list [YYYY-MM-DD] | download <key|YYYY-MM-DD|latest> <dir>");
  }
}

// Run as a program (not imported). Node reports the real path of the main module, and the server
// runs it through the /opt/<app>/current symlink, so compare real paths.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`todo-offsite: error: ${err.message}`);
    process.exit(1);
  });
}

// todo-offsite — copies database dumps to and from the environment's TOS bucket.
//
//   node offsite.mjs upload <file>             store <file> as postgres/<file name>
//   node offsite.mjs list [YYYY-MM-DD]         list stored dumps (of that day), oldest first
//   node offsite.mjs download <key|YYYY-MM-DD|latest> <dir>
//                                              fetch a dump (the day's newest) into <dir>, print its path
//
// TOS speaks the S3 API; requests are signed with AWS Signature V4 (role-client.mjs; node:crypto,
// no dependency: the two files are copied into every release next to the bundled app, and run on
// the bare server). Credentials are the temporary ones of the IAM role attached to the instance,
// read from the ECS metadata service for every attempt (they rotate), token first (IMDSv2, see
// role-client.mjs's metadataToken); nothing secret is stored on disk or printed.
//
// Settings come from the environment, else from the host settings file (/etc/todo-host.conf):
// OFFSITE_BUCKET, OFFSITE_REGION, OFFSITE_ENDPOINT, OFFSITE_ROLE; for tests also
// TODO_METADATA_URL (default http://100.96.0.96), OFFSITE_PATH_STYLE=1 (bucket in the path
// instead of the host name), OFFSITE_RETRY_MS (first retry delay, default 2000) and
// OFFSITE_ATTEMPTS (default 5).
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { pipeline } from "node:stream/promises";
import { enc, hostSettings, RetryableError, roleCredentials, send, sha256, signV4 } from "./role-client.mjs";

const PREFIX = "postgres/";

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

function objectUrl(s, key, query = {}) {
  const base = new URL(s.endpoint);
  const url = s.pathStyle
    ? new URL(`${base.origin}/${s.bucket}/${enc(key, true)}`)
    : new URL(`${base.protocol}//${s.bucket}.${base.host}/${enc(key, true)}`);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return url;
}

/**
 * A signed S3 request, retried with exponential backoff on network errors, 429 and 5xx. `s` holds
 * bucket, region, endpoint, role, metadata, pathStyle, retryMs, attempts (as settings() reads
 * them) and optionally `name`, the command named in retry messages. todo-fleet-publish uses it too.
 */
export async function s3(s, method, key, { query, body, payloadHash = sha256(""), length, sink } = {}) {
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
      console.error(
        `${s.name ?? "todo-offsite"}: ${err.message}; retrying in ${wait} ms (attempt ${attempt + 1} of ${s.attempts})`,
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  throw lastError;
}

export async function fileSha256(file) {
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

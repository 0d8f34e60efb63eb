// todo-files-credentials — copies the instance role's short-lived STS credentials from the ECS
// metadata service into a file the API may read, for signing attachment URLs in TOS.
//
//   node files-credentials.mjs <file>
//
// Why a file: the API's unit denies the metadata address (IPAddressDeny in app@.service), so a
// compromised API cannot ask for credentials whenever it likes, nor for another role. This runs
// as root in its own hardened unit (<app>-files-credentials.service, started by a timer well
// before the credentials expire) with the API's group, and writes
// {AccessKeyId, SecretAccessKey, SessionToken, ExpiredTime} atomically (a temporary file in the
// same directory, mode 0640, then rename), so the API never reads half a file. Nothing secret
// is printed.
//
// Settings: FILES_ROLE from the environment, else from the host settings (/etc/todo-host.conf,
// or TODO_HOST_CONF); for tests also TODO_METADATA_URL (default http://100.96.0.96),
// FILES_CREDENTIALS_RETRY_MS (first retry delay, default 2000) and FILES_CREDENTIALS_ATTEMPTS
// (default 5). The metadata exchange is offsite.mjs's: token first (IMDSv2 as Volcengine's Go
// SDK speaks it), the plain request only where the service has no token endpoint.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const TOKEN_PATH = "/latest/api/token";
const TOKEN_TTL_HEADER = "X-volc-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER = "X-volc-ecs-metadata-token";

function settings() {
  const conf = {};
  try {
    const text = readFileSync(process.env.TODO_HOST_CONF || "/etc/todo-host.conf", "utf8");
    for (const m of text.matchAll(/^([A-Z_]+)='([^']*)'$/gm)) conf[m[1]] = m[2];
  } catch {}
  const get = (k, d) => process.env[k] || conf[k] || d;
  const role = get("FILES_ROLE");
  if (!role) throw new Error("files are not configured on this server (FILES_ROLE missing in the host settings)");
  return {
    role,
    metadata: get("TODO_METADATA_URL", "http://100.96.0.96").replace(/\/+$/, ""),
    retryMs: Number(get("FILES_CREDENTIALS_RETRY_MS", "2000")),
    attempts: Number(get("FILES_CREDENTIALS_ATTEMPTS", "5")),
  };
}

async function get(url, headers) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

/** The role's credentials as the metadata service hands them out, checked. */
export async function fetchCredentials(s) {
  const token = await get(`${s.metadata}${TOKEN_PATH}`, { [TOKEN_TTL_HEADER]: "21600" });
  if (token.status !== 200 && token.status !== 404 && token.status !== 405)
    throw new Error(`metadata service answered ${token.status} for a token`);
  const headers = token.status === 200 ? { [TOKEN_HEADER]: token.text.trim() } : {};
  const res = await get(
    `${s.metadata}/volcstack/latest/iam/security_credentials/${encodeURIComponent(s.role)}`,
    headers,
  );
  if (res.status !== 200) throw new Error(`metadata service answered ${res.status} for role ${s.role}`);
  const c = JSON.parse(res.text);
  for (const k of ["AccessKeyId", "SecretAccessKey", "SessionToken", "ExpiredTime"]) {
    if (typeof c[k] !== "string" || c[k] === "")
      throw new Error(`metadata service returned no ${k} for role ${s.role}`);
  }
  if (Number.isNaN(Date.parse(c.ExpiredTime))) throw new Error(`metadata service returned an unreadable ExpiredTime`);
  return {
    AccessKeyId: c.AccessKeyId,
    SecretAccessKey: c.SecretAccessKey,
    SessionToken: c.SessionToken,
    ExpiredTime: c.ExpiredTime,
  };
}

/** Writes `value` as JSON to `file` atomically, mode 0640 (group: this process's, the API's). */
export function writeAtomically(file, value) {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w", 0o640);
  try {
    writeSync(fd, `${JSON.stringify(value)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function main(argv) {
  const file = argv[0];
  if (!file) throw new Error("usage: files-credentials.mjs <file>");
  const s = settings();
  let lastError;
  for (let attempt = 1; attempt <= s.attempts; attempt++) {
    try {
      const creds = await fetchCredentials(s);
      writeAtomically(file, creds);
      const minutes = Math.round((Date.parse(creds.ExpiredTime) - Date.now()) / 60_000);
      console.log(
        `credentials of role ${s.role} written to ${file}; they expire at ${creds.ExpiredTime} (in ${minutes} min)`,
      );
      return;
    } catch (err) {
      lastError = err;
      if (attempt < s.attempts) await new Promise((r) => setTimeout(r, s.retryMs * 2 ** (attempt - 1)));
    }
  }
  throw lastError;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`files-credentials failed: ${err.message}`);
    process.exit(1);
  });
}

// todo-fleet-join — a server the scaling group started pulls the current deploy and runs it
// (docs/auto-scaling.md, "Booting", step 4). Run once after cloud-init's set-up.
//
//   node fleet-join.mjs
//
//  1. waits, bounded (FLEET_ROLE_WAIT_MS, default the SCALE_OUT hook's 900 s), until the metadata
//     service hands out credentials of the app servers' role (the seed associates it while the
//     hook holds this instance);
//  2. reads fleet/current from the private bucket (contract/fleet.ts: the release hash and the
//     SHA-256 of the tarball and of the env object), and stops there when this server already
//     runs that deploy (FLEET_STATE names it);
//  3. downloads fleet/<deploy>/release.tar.gz and fleet/<deploy>/env, and checks both against the
//     pointer's SHA-256 (todo-release deploy then reads the release hash from the tarball's
//     RELEASE, as on every deploy);
//  4. runs the steps every deploy runs (contract/deploy-steps.ts, spelled out below): install the
//     release's kit, `todo-release set-env NAME` for each setting (value on stdin, never in an
//     argument or a log), `todo-release deploy`; then records the deploy in FLEET_STATE.
// Anything that fails stops the run with the reason on stderr and exit status 1; nothing is half
// switched (todo-release deploy switches back on failure). Settings values are never printed.
//
// Settings from the environment, else the host settings file (/etc/todo-host.conf, or
// TODO_HOST_CONF): FLEET_BUCKET, FLEET_REGION, FLEET_ENDPOINT (default: the OFFSITE_ ones),
// FLEET_ROLE (default FILES_ROLE), APP_NAME (default todo-api); FLEET_ROLE_WAIT_MS,
// FLEET_RETRY_MS (default 5000), FLEET_STATE (default /var/lib/todo-setup/fleet-deploy),
// FLEET_TARBALL_DIR (default /tmp); for tests TODO_METADATA_URL and FLEET_PATH_STYLE=1.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { hostSettings, roleCredentials, signV4 } from "./role-client.mjs";

// contract/fleet.ts, contract/release.ts, contract/server.ts, contract/deploy-steps.ts
export const FLEET_CURRENT_KEY = "fleet/current";
export const FLEET_PREFIX = "fleet/";
const RELEASE_COMMAND = "/usr/local/sbin/todo-release";
const KIT_STAGING_DIR = "/var/lib/todo-setup/kit";
const RELEASE_KIT_DIR = "server";
const KEEP_KITS = 3;
const TARBALL_LEFTOVER_MINUTES = 60;
// todo-release set-env checks names the same way, and the values (no newline, quote, ...).
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export function settings(env = process.env) {
  const get = hostSettings(env);
  const s = {
    bucket: get("FLEET_BUCKET", get("OFFSITE_BUCKET")),
    region: get("FLEET_REGION", get("OFFSITE_REGION")),
    endpoint: (get("FLEET_ENDPOINT", get("OFFSITE_ENDPOINT")) || "").replace(/\/+$/, ""),
    role: get("FLEET_ROLE", get("FILES_ROLE")),
    app: get("APP_NAME", "todo-api"),
    pathStyle: get("FLEET_PATH_STYLE") === "1",
    metadata: get("TODO_METADATA_URL", "http://100.96.0.96").replace(/\/+$/, ""),
    roleWaitMs: Number(get("FLEET_ROLE_WAIT_MS", "900000")),
    retryMs: Number(get("FLEET_RETRY_MS", "5000")),
    state: get("FLEET_STATE", "/var/lib/todo-setup/fleet-deploy"),
    tarballDir: get("FLEET_TARBALL_DIR", "/tmp"),
  };
  for (const k of ["bucket", "region", "endpoint", "role"])
    if (!s[k]) throw new Error(`this server is not configured to join a fleet (FLEET_${k.toUpperCase()} missing)`);
  return s;
}

/** Parses fleet/current as contract/fleet.ts defines it; the deploy's name and object keys. */
export function parsePointer(text) {
  let p;
  try {
    p = JSON.parse(text);
  } catch {
    throw new Error("fleet/current is not JSON");
  }
  if (typeof p?.release !== "string" || !/^[0-9a-f]{12}$/.test(p.release))
    throw new Error("fleet/current: release is not a release hash (12 hex digits)");
  for (const k of ["tarballSha256", "envSha256"])
    if (typeof p[k] !== "string" || !/^[0-9a-f]{64}$/.test(p[k]))
      throw new Error(`fleet/current: ${k} is not a SHA-256`);
  const deploy = `${p.release}-${p.envSha256.slice(0, 12)}`;
  return {
    ...p,
    deploy,
    tarballKey: `${FLEET_PREFIX}${deploy}/release.tar.gz`,
    envKey: `${FLEET_PREFIX}${deploy}/env`,
  };
}

/** The deploy steps of contract/deploy-steps.ts, run as root (no sudo prefix). */
export function installKitScript(tarball, hash) {
  const stage = `${KIT_STAGING_DIR}/${hash}`;
  const slash = tarball.lastIndexOf("/");
  return [
    `trap 'status=$?; if [ "$status" -ne 0 ]; then  rm -f -- ${tarball}; fi' EXIT`,
    ` find ${tarball.slice(0, slash) || "/"} -maxdepth 1 -type f -name 'todo-api-*.tar.gz' ! -name '${tarball.slice(slash + 1)}' -mmin +${TARBALL_LEFTOVER_MINUTES} -delete`,
    ` mkdir -p ${KIT_STAGING_DIR}`,
    ` rm -rf ${stage}.new`,
    ` mkdir -p ${stage}.new`,
    ` tar -xzf ${tarball} -C ${stage}.new --no-same-owner ${RELEASE_KIT_DIR}`,
    ` rm -rf ${stage}`,
    ` mv -T ${stage}.new ${stage}`,
    ` ${stage}/${RELEASE_KIT_DIR}/install`,
    ` find ${KIT_STAGING_DIR} -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\\n' | sort -rn | tail -n +${KEEP_KITS + 1} | cut -d' ' -f2 | xargs -r  rm -rf`,
  ];
}

export function switchReleaseScript(tarball, app) {
  const current = `/opt/${app}/current`;
  return [
    `trap ' rm -f -- ${tarball}' EXIT`,
    `before=$(readlink ${current} 2>/dev/null || true)`,
    ` ${RELEASE_COMMAND} deploy ${tarball}`,
    `if [ -n "$before" ] && [ "$before" = "$(readlink ${current} 2>/dev/null || true)" ]; then  ${RELEASE_COMMAND} restart; fi`,
  ];
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

function objectUrl(s, key) {
  const base = new URL(s.endpoint);
  const path = key.split("/").map(encodeURIComponent).join("/");
  return s.pathStyle
    ? new URL(`${base.origin}/${s.bucket}/${path}`)
    : new URL(`${base.protocol}//${s.bucket}.${base.host}/${path}`);
}

/** A signed GET of one object, whole, as a Buffer. */
function getObject(s, creds, key) {
  const url = objectUrl(s, key);
  const headers = signV4({ method: "GET", url, headers: {}, payloadHash: sha256(""), creds, region: s.region });
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).get(url, { headers, timeout: 120_000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode === 200) return resolve(body);
        const code = /<Code>([^<]+)<\/Code>/.exec(body.toString("utf8"))?.[1] ?? "";
        reject(new Error(`GET ${key}: HTTP ${res.statusCode} ${code}`.trim()));
      });
    });
    req.on("timeout", () => req.destroy(new Error(`timeout reading ${key}`)));
    req.on("error", reject);
  });
}

/** The role's credentials, asked for until they come or the wait is over. */
export async function waitForCredentials(s, say) {
  const until = Date.now() + s.roleWaitMs;
  for (let told = false; ; told = true) {
    try {
      return await roleCredentials({ metadata: s.metadata, role: s.role });
    } catch (err) {
      if (Date.now() + s.retryMs > until)
        throw new Error(`no credentials for role ${s.role} within ${s.roleWaitMs} ms (${err.message})`);
      if (!told) say(`waiting for the credentials of role ${s.role} (${err.message})`);
      await new Promise((r) => setTimeout(r, s.retryMs));
    }
  }
}

/** Runs a command; throws when it fails. `input` goes to its stdin. */
function run(command, args, input) {
  const r = spawnSync(command, args, { input, stdio: [input === undefined ? "ignore" : "pipe", "inherit", "inherit"] });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${command} ${args[0] === "-ec" ? "(deploy step)" : args.join(" ")} exited with ${r.status}`);
}

function currentDeploy(s) {
  try {
    return readFileSync(s.state, "utf8").trim();
  } catch {
    return "";
  }
}

/** One join; `exec(command, args, input)` runs each step (tests record them). */
export async function joinFleet(s, { exec = run, say = console.log } = {}) {
  const creds = await waitForCredentials(s, say);
  const pointer = parsePointer((await getObject(s, creds, FLEET_CURRENT_KEY)).toString("utf8"));
  if (currentDeploy(s) === pointer.deploy) {
    say(`already runs deploy ${pointer.deploy}`);
    return pointer.deploy;
  }
  const [tarball, envObject] = await Promise.all([
    getObject(s, creds, pointer.tarballKey),
    getObject(s, creds, pointer.envKey),
  ]);
  if (sha256(tarball) !== pointer.tarballSha256)
    throw new Error(`${pointer.tarballKey} does not match fleet/current's tarballSha256`);
  if (sha256(envObject) !== pointer.envSha256)
    throw new Error(`${pointer.envKey} does not match fleet/current's envSha256`);
  let settingsOf;
  try {
    settingsOf = JSON.parse(envObject.toString("utf8"));
  } catch {
    throw new Error(`${pointer.envKey} is not JSON`);
  }
  if (settingsOf === null || typeof settingsOf !== "object" || Array.isArray(settingsOf))
    throw new Error(`${pointer.envKey} is not an object of settings`);
  for (const [name, value] of Object.entries(settingsOf))
    if (!ENV_NAME.test(name) || typeof value !== "string")
      throw new Error(`${pointer.envKey}: setting ${name} is not NAME: "value"`);
  // Named and placed as the deploy step places it (remoteTarballPath), so its leftover pruning applies.
  const file = join(s.tarballDir, `todo-api-${pointer.release}.tar.gz`);
  writeFileSync(`${file}.partial`, tarball, { mode: 0o600 });
  renameSync(`${file}.partial`, file);
  try {
    exec("sh", ["-ec", installKitScript(file, pointer.release).join("\n")]);
    for (const [name, value] of Object.entries(settingsOf)) exec(RELEASE_COMMAND, ["set-env", name], value);
    exec("sh", ["-ec", switchReleaseScript(file, s.app).join("\n")]);
  } finally {
    rmSync(file, { force: true });
  }
  writeFileSync(`${s.state}.new`, `${pointer.deploy}\n`);
  renameSync(`${s.state}.new`, s.state);
  say(`deploy ${pointer.deploy} (release ${pointer.release}, ${Object.keys(settingsOf).length} settings) installed`);
  return pointer.deploy;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  Promise.resolve()
    .then(() => joinFleet(settings()))
    .catch((err) => {
      console.error(`todo-fleet-join: error: ${err.message}`);
      process.exit(1);
    });
}

// todo-fleet-publish — the first fixed server publishes each deploy for the servers a scaling group
// starts (docs/auto-scaling.md, "A release"; the layout is contract/fleet.ts).
//
//   todo-fleet-publish <tarball>   uploads the release tarball and the app's settings (the env file
//                                  as `todo-release set-env` wrote it, as JSON) under fleet/<deploy>/,
//                                  then records the pointer to them as pending (FLEET_PENDING)
//   todo-fleet-publish --point     uploads the pending pointer as fleet/current: the fleet's servers
//                                  move to that deploy at their next todo-fleet-sync
//
// The deploy step runs the first before it switches this server to the release (the switch removes
// the tarball), and the stack runs the second after the last fixed server's deploy, so a rollout
// cut off half-way never reaches the fleet. Safe to retry: the same tarball and settings give the
// same deploy name, keys and bytes (the settings are written sorted by name). Values are never
// printed; a refused upload names the key, the HTTP status and TOS's error code.
//
// Requests go through offsite.mjs's signed client (SigV4, the instance role's credentials from the
// metadata service, retries on 429/5xx). Settings from the environment, else the host settings
// file (TODO_HOST_CONF or /etc/todo-host.conf): FLEET_BUCKET, FLEET_REGION, FLEET_ENDPOINT,
// FLEET_ROLE (each defaulting to the OFFSITE_ one: this server holds the backup role), APP_NAME;
// FLEET_PENDING (default /var/lib/todo-setup/fleet-pending), TODO_ENV_FILE (default
// /etc/<app>/env); for tests TODO_METADATA_URL, FLEET_PATH_STYLE=1, FLEET_RETRY_MS, FLEET_ATTEMPTS.
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { fileSha256, s3 } from "./offsite.mjs";
import { hostSettings } from "./role-client.mjs";

// contract/fleet.ts and contract/release.ts (this file runs on the server without them)
const FLEET_CURRENT_KEY = "fleet/current";
const FLEET_PREFIX = "fleet/";
const RELEASE_FILE = /^todo-api-([0-9a-f]{12})\.tar\.gz$/;
// What todo-fleet-join accepts as a setting's name (it refuses the whole deploy otherwise).
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export function settings(env = process.env) {
  const get = hostSettings(env);
  const app = get("APP_NAME", "todo-api");
  const s = {
    name: "todo-fleet-publish",
    bucket: get("FLEET_BUCKET", get("OFFSITE_BUCKET")),
    region: get("FLEET_REGION", get("OFFSITE_REGION")),
    endpoint: (get("FLEET_ENDPOINT", get("OFFSITE_ENDPOINT")) || "").replace(/\/+$/, ""),
    role: get("FLEET_ROLE", get("OFFSITE_ROLE")),
    metadata: get("TODO_METADATA_URL", "http://100.96.0.96").replace(/\/+$/, ""),
    pathStyle: get("FLEET_PATH_STYLE") === "1",
    retryMs: Number(get("FLEET_RETRY_MS", "2000")),
    attempts: Number(get("FLEET_ATTEMPTS", "5")),
    pending: get("FLEET_PENDING", "/var/lib/todo-setup/fleet-pending"),
    envFile: get("TODO_ENV_FILE", `/etc/${app}/env`),
  };
  for (const k of ["bucket", "region", "endpoint", "role"])
    if (!s[k]) throw new Error(`this server does not publish a fleet (FLEET_${k.toUpperCase()} missing)`);
  return s;
}

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
/** contract/fleet.ts's fleetDeployName: the release with the first 12 hex of its settings' SHA-256. */
const deployName = (pointer) => `${pointer.release}-${pointer.envSha256.slice(0, 12)}`;

/** The env file's settings as the JSON object todo-fleet-join reads, names sorted. */
export function envObject(text, file) {
  const values = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    if (!ENV_NAME.test(m[1]))
      throw new Error(`${file}: setting ${m[1]} is not an upper-case name a fleet server can set`);
    values[m[1]] = m[2];
  }
  const sorted = Object.fromEntries(
    Object.keys(values)
      .sort()
      .map((k) => [k, values[k]]),
  );
  return Buffer.from(JSON.stringify(sorted));
}

const put = (s, key, { body, hash, length }) => s3(s, "PUT", key, { body, payloadHash: hash, length });

/** Uploads the tarball and the env object under fleet/<deploy>/ and records the pending pointer. */
export async function publish(s, tarball, say = console.log) {
  const release = RELEASE_FILE.exec(basename(tarball))?.[1];
  if (!release) throw new Error(`${tarball} is not a release tarball (todo-api-<12 hex>.tar.gz)`);
  let text;
  try {
    text = readFileSync(s.envFile, "utf8");
  } catch (err) {
    throw new Error(`cannot read the app's settings in ${s.envFile} (${err.code ?? err.message})`);
  }
  const env = envObject(text, s.envFile);
  const pointer = { release, tarballSha256: await fileSha256(tarball), envSha256: sha256(env) };
  const deploy = deployName(pointer);
  const length = statSync(tarball).size;
  await put(s, `${FLEET_PREFIX}${deploy}/release.tar.gz`, {
    body: () => createReadStream(tarball),
    hash: pointer.tarballSha256,
    length,
  });
  await put(s, `${FLEET_PREFIX}${deploy}/env`, {
    body: () => Readable.from([env]),
    hash: pointer.envSha256,
    length: env.length,
  });
  // Recorded only once both objects are stored: --point never names a deploy that is not there.
  writeFileSync(`${s.pending}.new`, `${JSON.stringify(pointer)}\n`, { mode: 0o644 });
  renameSync(`${s.pending}.new`, s.pending);
  say(
    `published deploy ${deploy} to tos://${s.bucket}/${FLEET_PREFIX}${deploy}/ (release ${release}, ${length} bytes; ${Object.keys(JSON.parse(env)).length} settings, values not shown); 'todo-fleet-publish --point' makes it current`,
  );
  return { deploy, pointer };
}

/** Uploads the pending pointer as fleet/current. */
export async function point(s, say = console.log) {
  let text;
  try {
    text = readFileSync(s.pending, "utf8").trim();
  } catch {
    throw new Error(`nothing to point at: ${s.pending} is missing (run 'todo-fleet-publish <tarball>' first)`);
  }
  const pointer = JSON.parse(text);
  const body = Buffer.from(JSON.stringify(pointer));
  await put(s, FLEET_CURRENT_KEY, { body: () => Readable.from([body]), hash: sha256(body), length: body.length });
  const deploy = deployName(pointer);
  say(`fleet/current now names deploy ${deploy} in tos://${s.bucket}`);
  return deploy;
}

async function main(args) {
  if (args.length === 1 && args[0] === "--point") return point(settings());
  if (args.length === 1 && !args[0].startsWith("-")) return publish(settings(), args[0]);
  throw new Error("usage: todo-fleet-publish <tarball> | --point");
}

// Run as a program (not imported); real paths, as the kit runs it through a wrapper.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`todo-fleet-publish: error: ${err.message}`);
    process.exit(1);
  });
}

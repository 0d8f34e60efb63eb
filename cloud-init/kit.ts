/**
 * The server kit's installer. Bundled into every release as `server/kit.mjs` next to the templates
 * (`server/bin`, `server/systemd`, `server/nginx`, `server/etc`, `server/lib`: the same layout as
 * cloud-init/ here) and run on the server by `server/install` during each deploy:
 *
 *   node kit.mjs install [--host-conf /etc/todo-host.conf] [--root /] [--changed FILE] [--manifest FILE]
 *
 * It reads the host settings, renders every server file with the same code the repository's tests
 * use (serverFiles in render.ts), writes only the files whose content or mode differ (atomically),
 * removes the files an earlier kit installed that these settings no longer want (e.g. the HTTPS
 * site after the domain was removed), and lists what changed, so that todo-setup reloads Nginx,
 * restarts journald or PostgreSQL only when their files changed: a deploy that changes only the
 * release restarts neither Nginx nor PostgreSQL.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { CloudInitOptions } from "./options.js";
import { MEMORY_CONF_PATH } from "../contract/server.js";
import {
  FORMER_KIT_NOTES,
  KIT_NOTE,
  parseCloudInitOptions,
  serverFiles,
  type ServerFile,
  type TemplateSource,
} from "./render.js";
import { memTotalMiBOf } from "./memory-budget.js";

/** Reads `KEY='value'` lines as written by renderHostConf (single quotes, `'\''` for a quote). */
export function parseHostConf(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let raw = m[2]!;
    if (raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2) raw = raw.slice(1, -1).replace(/'\\''/g, "'");
    values.set(m[1]!, raw);
  }
  return values;
}

/**
 * The cloud-init options a host.conf was rendered from. Also reads the host.conf of a server set up
 * by an earlier version (no NODE_VERSION, APP_MEMORY_MAX_MIB): the missing values take the
 * defaults of this release (the pinned Node.js), and the kit then rewrites host.conf in full.
 */
export function optionsFromHostConf(text: string): CloudInitOptions {
  const v = parseHostConf(text);
  const get = (key: string) => {
    const value = v.get(key);
    return value === undefined || value === "" ? undefined : value;
  };
  const required = (key: string) => {
    const value = get(key);
    if (value === undefined) throw new Error(`host settings lack ${key}`);
    return value;
  };
  const num = (key: string) => (get(key) === undefined ? undefined : Number(get(key)));
  const bucket = get("OFFSITE_BUCKET");
  const options: Record<string, unknown> = {
    appName: get("APP_NAME"),
    environment: required("APP_ENVIRONMENT"),
    databaseMode: required("DB_MODE"),
    domain: get("DOMAIN"),
    acmeEmail: get("ACME_EMAIL"),
    alertEmail: get("ALERT_EMAIL"),
    nodeVersion: get("NODE_VERSION"),
    nodeSha256: get("NODE_VERSION")
      ? { x64: get("NODE_SHA256_X64"), ...(get("NODE_SHA256_ARM64") ? { arm64: get("NODE_SHA256_ARM64") } : {}) }
      : undefined,
    nodeMirror: get("NODE_MIRROR"),
    appPorts: get("APP_PORTS")?.split(/\s+/).map(Number),
    adminConsoleCidrs: get("ADMIN_CONSOLE_CIDRS")?.split(/\s+/),
    backupRetentionDays: num("BACKUP_RETENTION_DAYS"),
    appMemoryMaxMiB: num("APP_MEMORY_MAX_MIB"),
    keepReleases: num("KEEP_RELEASES"),
    offsiteBackup: bucket
      ? {
          bucket,
          region: required("OFFSITE_REGION"),
          endpoint: required("OFFSITE_ENDPOINT"),
          roleName: required("OFFSITE_ROLE"),
        }
      : undefined,
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return parseCloudInitOptions(options as CloudInitOptions);
}

export interface InstallResult {
  changed: string[];
  removed: string[];
  /** Rewritten only for their note (a header an earlier version wrote): nothing to reload for them. */
  noteOnly: string[];
}

/** The text without its kit note (current or former) or host.conf's header line. */
const withoutNote = (text: string) =>
  text
    .split("\n")
    .filter((line) => !NOTE_LINE.test(line))
    .join("\n");
const NOTE_LINE = new RegExp(
  `^(#|//) (${[KIT_NOTE, ...FORMER_KIT_NOTES, "Host settings from the stack configuration"].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`,
);

const modeOf = (f: ServerFile) => parseInt(f.permissions, 8);

/** Writes `files` under `root` where they differ; removes what the previous manifest had and these lack. */
export function installServerFiles(files: ServerFile[], root: string, manifestPath: string): InstallResult {
  const changed: string[] = [];
  const noteOnly: string[] = [];
  for (const f of files) {
    const target = join(root, f.path);
    const existing = existsSync(target) ? readFileSync(target, "utf8") : undefined;
    const sameMode = existing !== undefined && (statSync(target).mode & 0o7777) === modeOf(f);
    if (existing === f.content && sameMode) continue;
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.kit-${process.pid}`;
    writeFileSync(tmp, f.content, { mode: modeOf(f) });
    chmodSync(tmp, modeOf(f));
    renameSync(tmp, target);
    if (sameMode && withoutNote(existing!) === withoutNote(f.content)) noteOnly.push(f.path);
    else changed.push(f.path);
  }
  const wanted = new Set(files.map((f) => f.path));
  const manifest = join(root, manifestPath);
  const previous = existsSync(manifest) ? readFileSync(manifest, "utf8").split("\n").filter(Boolean) : [];
  const removed: string[] = [];
  for (const path of previous) {
    if (wanted.has(path) || !path.startsWith("/")) continue;
    const target = join(root, path);
    if (existsSync(target)) {
      rmSync(target, { force: true });
      removed.push(path);
    }
  }
  mkdirSync(dirname(manifest), { recursive: true });
  writeFileSync(manifest, `${[...wanted].sort().join("\n")}\n`);
  return { changed, removed, noteOnly };
}

/** Templates next to the bundled kit.mjs (server/ in the release), laid out like cloud-init/. */
export const kitSource =
  (kitDir: string): TemplateSource =>
  (relative) =>
    readFileSync(join(kitDir, relative), "utf8");

function main(argv: string[]): number {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "host-conf": { type: "string", default: "/etc/todo-host.conf" },
      root: { type: "string", default: "/" },
      changed: { type: "string", default: "/var/lib/todo-setup/changed" },
      manifest: { type: "string", default: "/var/lib/todo-setup/installed-files" },
    },
  });
  if (positionals[0] !== "install") {
    process.stderr.write("usage: node kit.mjs install [--host-conf F] [--root DIR] [--changed F] [--manifest F]\n");
    return 2;
  }
  const kitDir = dirname(fileURLToPath(import.meta.url));
  const hostConf = join(values.root!, values["host-conf"]!);
  const options = optionsFromHostConf(readFileSync(hostConf, "utf8"));
  // This server's memory sizes the app's MemoryMax and PostgreSQL (memory-budget.ts).
  // TODO_MEMINFO: another meminfo file, for tests (todo-setup honours the same variable).
  const memTotalMiB = memTotalMiBOf(readFileSync(process.env.TODO_MEMINFO ?? "/proc/meminfo", "utf8"));
  const files = serverFiles(options, kitSource(kitDir), memTotalMiB);
  const result = installServerFiles(files, values.root!, values.manifest!);
  const plan = parseHostConf(files.find((f) => f.path === MEMORY_CONF_PATH)!.content);
  process.stdout.write(
    `kit: memory ${memTotalMiB} MiB: app MemoryMax ${plan.get("APP_MEMORY_MAX_MIB")} MiB per instance (${plan.get("APP_MEMORY_SOURCE")}), ${plan.get("PLANNED_MIB")} MiB planned in all\n`,
  );
  for (const path of result.changed) process.stdout.write(`kit: updated ${path}\n`);
  for (const path of result.noteOnly) process.stdout.write(`kit: rewrote the note of ${path} (content unchanged)\n`);
  for (const path of result.removed) process.stdout.write(`kit: removed ${path} (no longer wanted)\n`);
  if (!result.changed.length && !result.removed.length && !result.noteOnly.length)
    process.stdout.write("kit: every server file is up to date\n");
  const changedFile = join(values.root!, values.changed!);
  mkdirSync(dirname(changedFile), { recursive: true });
  // Appended, not replaced: an interrupted deploy's changes are still pending for todo-setup.
  writeFileSync(changedFile, [...result.changed, ...result.removed].map((p) => `${p}\n`).join(""), { flag: "a" });
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`kit: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

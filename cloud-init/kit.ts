/**
 * The server kit's installer. Bundled into every release as `server/kit.mjs` next to the templates
 * (`server/bin`, `server/systemd`, `server/nginx`, `server/etc`, `server/lib`: the same layout as
 * cloud-init/ here) and run on the server by `server/install` during each deploy:
 *
 *   node kit.mjs install [--host-conf /etc/todo-host.conf] [--root /] [--changed FILE] [--manifest FILE]
 *                        [--previous DIR] [--history FILE]
 *   node kit.mjs stage DIR [--host-conf /etc/todo-host.conf]
 *
 * It reads the host settings, renders every server file with the same code the repository's tests
 * use (serverFiles in render.ts), writes only the files whose content or mode differ (atomically),
 * removes the files an earlier kit installed that these settings no longer want (e.g. the HTTPS
 * site after the domain was removed), and lists what changed, so that todo-setup reloads Nginx,
 * restarts journald or PostgreSQL only when their files changed: a deploy that changes only the
 * release restarts neither Nginx nor PostgreSQL.
 *
 * `stage` writes the same files under DIR (a fresh tree) for server/install to validate (nginx -t,
 * systemd-analyze verify, bash -n) before anything live is overwritten. `install` appends each path
 * to the changed list BEFORE writing it (an install cut short still has todo-setup reload what it
 * wrote), appends a line per file to the change record (--history: when, what, which file), and
 * keeps the files it replaces (--previous: the whole previous kit, once per kit change) so that
 * `todo-release rollback` can put the previous kit back.
 */
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { MEMORY_CONF_PATH } from "../contract/server.js";
import { FORMER_KIT_NOTES, KIT_NOTE, serverFiles, type ServerFile, type TemplateSource } from "./render.js";
import { optionsFromHostConf, parseHostConf } from "./host-conf.js";
import { memTotalMiBOf } from "./memory-budget.js";
import { ownMemoryLimit, serverMemory } from "./memory-limit.js";

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

/** Where an install records what it does; paths are under the install's root. */
export interface InstallRecords {
  /** The list todo-setup reads (what to reload): each path appended before the file is written. */
  changed?: string;
  /** One line per file written or removed: `<UTC time> updated|added|removed <path>`. */
  history?: string;
  /** The previous kit, kept for rollback: `files/<path>` and `manifest`, taken before the first write. */
  previous?: string;
}

/**
 * Copies every file of the live kit (the previous manifest) aside before a different kit replaces it:
 * the kit as it was before this release. Installing the same kit again (a deploy run twice) keeps
 * the copy, and so does an install cut short (its marker `in-progress` stays until one finishes).
 */
function keepPrevious(root: string, dir: string, previousManifest: string[], kitId: string): void {
  const base = join(root, dir);
  if (existsSync(join(base, "in-progress"))) return;
  if (existsSync(join(base, "kit-id")) && readFileSync(join(base, "kit-id"), "utf8") === kitId) return;
  rmSync(base, { recursive: true, force: true });
  for (const path of previousManifest) {
    const source = join(root, path);
    if (!path.startsWith("/") || !existsSync(source)) continue;
    const copy = join(base, "files", path);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(source, copy);
    chmodSync(copy, statSync(source).mode & 0o7777);
  }
  writeFileSync(join(base, "manifest"), previousManifest.map((p) => `${p}\n`).join(""));
  writeFileSync(join(base, "kit-id"), kitId);
  writeFileSync(join(base, "in-progress"), "");
}

/** Identifies a kit by its files (paths, modes, contents). */
const kitIdOf = (files: ServerFile[]) =>
  createHash("sha256")
    .update(JSON.stringify([...files].sort((a, b) => (a.path < b.path ? -1 : 1))))
    .digest("hex");

/** Writes `files` under `root` where they differ; removes what the previous manifest had and these lack. */
export function installServerFiles(
  files: ServerFile[],
  root: string,
  manifestPath: string,
  records: InstallRecords = {},
): InstallResult {
  const changed: string[] = [];
  const noteOnly: string[] = [];
  const manifest = join(root, manifestPath);
  const previous = existsSync(manifest) ? readFileSync(manifest, "utf8").split("\n").filter(Boolean) : [];
  const wanted = new Set(files.map((f) => f.path));
  const removing = previous.filter((p) => p.startsWith("/") && !wanted.has(p) && existsSync(join(root, p)));
  if (records.previous && previous.length > 0) keepPrevious(root, records.previous, previous, kitIdOf(files));
  const note = (what: string, path: string) => {
    if (records.changed && what !== "note") appendFileSync(join(root, records.changed), `${path}\n`);
    if (records.history) appendFileSync(join(root, records.history), `${new Date().toISOString()} ${what} ${path}\n`);
  };
  if (records.changed) mkdirSync(dirname(join(root, records.changed)), { recursive: true });
  if (records.history) mkdirSync(dirname(join(root, records.history)), { recursive: true });
  for (const f of files) {
    const target = join(root, f.path);
    const existing = existsSync(target) ? readFileSync(target, "utf8") : undefined;
    const sameMode = existing !== undefined && (statSync(target).mode & 0o7777) === modeOf(f);
    if (existing === f.content && sameMode) continue;
    const onlyNote = sameMode && withoutNote(existing!) === withoutNote(f.content);
    note(onlyNote ? "note" : existing === undefined ? "added" : "updated", f.path);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.kit-${process.pid}`;
    writeFileSync(tmp, f.content, { mode: modeOf(f) });
    chmodSync(tmp, modeOf(f));
    try {
      writeFileSync(tmp, f.content, { mode: modeOf(f) });
      chmodSync(tmp, modeOf(f));
      renameSync(tmp, target);
    } finally {
      rmSync(tmp, { force: true }); // a write cut short (a full disk) leaves no partial file behind
    }
    if (onlyNote) noteOnly.push(f.path);
    else changed.push(f.path);
  }
  const removed: string[] = [];
  for (const path of removing) {
    note("removed", path);
    rmSync(join(root, path), { force: true });
    removed.push(path);
  }
  mkdirSync(dirname(manifest), { recursive: true });
  writeFileSync(manifest, `${[...wanted].sort().join("\n")}\n`);
  if (records.previous) rmSync(join(root, records.previous, "in-progress"), { force: true });
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
      previous: { type: "string", default: "/var/lib/todo-setup/kit-previous" },
      history: { type: "string", default: "/var/lib/todo-setup/kit-changes.log" },
    },
  });
  const stageDir = positionals[0] === "stage" ? positionals[1] : undefined;
  if (positionals[0] !== "install" && !stageDir) {
    process.stderr.write(
      "usage: node kit.mjs install [--host-conf F] [--root DIR] [--changed F] [--manifest F] [--previous DIR] [--history F]\n" +
        "       node kit.mjs stage DIR [--host-conf F] [--root DIR]\n",
    );
    return 2;
  }
  const kitDir = dirname(fileURLToPath(import.meta.url));
  const hostConf = join(values.root!, values["host-conf"]!);
  const options = optionsFromHostConf(readFileSync(hostConf, "utf8"));
  // This server's memory sizes the app's MemoryMax and PostgreSQL (memory-budget.ts): MemTotal, or
  // the cgroup's memory limit where it is smaller (a server in a container, memory-limit.ts).
  // TODO_MEMINFO: another meminfo file, for tests (todo-setup honours the same variable); a test
  // that sets it describes the whole machine, so the cgroup is read only from its TODO_PROC_SELF
  // (a folder with `cgroup` and `mountinfo` like /proc/self), never from the test runner's own.
  const meminfoMiB = memTotalMiBOf(readFileSync(process.env.TODO_MEMINFO ?? "/proc/meminfo", "utf8"));
  const procSelf = process.env.TODO_PROC_SELF ?? (process.env.TODO_MEMINFO ? undefined : "/proc/self");
  const memory = serverMemory(meminfoMiB, procSelf === undefined ? undefined : ownMemoryLimit(procSelf));
  const memTotalMiB = memory.mib;
  const files = serverFiles(options, kitSource(kitDir), memTotalMiB);
  if (stageDir) {
    rmSync(stageDir, { recursive: true, force: true });
    installServerFiles(files, stageDir, "/.manifest");
    process.stdout.write(`kit: ${files.length} server files staged in ${stageDir}\n`);
    return 0;
  }
  const result = installServerFiles(files, values.root!, values.manifest!, {
    changed: values.changed!,
    history: values.history!,
    previous: values.previous!,
  });
  const plan = parseHostConf(files.find((f) => f.path === MEMORY_CONF_PATH)!.content);
  process.stdout.write(
    `kit: memory ${memTotalMiB} MiB (${memory.source}): app MemoryMax ${plan.get("APP_MEMORY_MAX_MIB")} MiB per instance (${plan.get("APP_MEMORY_SOURCE")}), ${plan.get("PLANNED_MIB")} MiB planned in all\n`,
  );
  for (const path of result.changed) process.stdout.write(`kit: updated ${path}\n`);
  for (const path of result.noteOnly) process.stdout.write(`kit: rewrote the note of ${path} (content unchanged)\n`);
  for (const path of result.removed) process.stdout.write(`kit: removed ${path} (no longer wanted)\n`);
  if (!result.changed.length && !result.removed.length && !result.noteOnly.length)
    process.stdout.write("kit: every server file is up to date\n");
  // (the changed list was appended to file by file: an interrupted deploy's changes stay pending for todo-setup)
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

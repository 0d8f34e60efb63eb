import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createTar, gzipDeterministic, type TarEntry } from "../contract/tar.js";
import {
  RELEASE_APP_NAME,
  RELEASE_KIT_DIR,
  releaseFileName,
  SOCKET_ACTIVATION_MARKER,
  type Release,
} from "../contract/release.js";

/**
 * The release builder (`npm run release`, scripts/release.ts; the infra stack at synth time): the production server as one self-contained, content-addressed tarball,
 * dist/release/todo-api-<hash>.tar.gz, that unpacks to
 *
 *   server.mjs  migrate.mjs  admin.mjs  offsite.mjs  role-client.mjs  package.json  RELEASE  SOCKET_ACTIVATION  node_modules/@node-rs/bcrypt{,-linux-x64-gnu}
 *   server/{install,kit.mjs,bin,systemd,nginx,etc,lib}   (the server kit: see kitFiles)
 *
 * so a server needs Node.js and nothing from a package registry. <hash> is the first 12 hex digits
 * of a SHA-256 over the sorted file list and contents (not over tar or gzip bytes), so the same
 * source gives the same hash on any machine. The infra stack calls buildRelease() at synth time:
 * it is quiet on stdout and skips the build when its inputs have not changed.
 */
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The off-site backup client and the module of signed requests it imports. */
const OFFSITE_CLIENT = ["cloud-init/lib/offsite.mjs", "cloud-init/lib/role-client.mjs"];

export { RELEASE_APP_NAME, type Release };
/** The only package that cannot be bundled: a native addon, plus its Linux x64 glibc binary. */
const NATIVE_PACKAGES = ["@node-rs/bcrypt", "@node-rs/bcrypt-linux-x64-gnu"] as const;

export interface ReleaseOptions {
  /** Where tarballs are written (default dist/release). */
  outDir?: string;
  /** Use an already built bundle directory (server.mjs, migrate.mjs) instead of building app/. */
  bundleDir?: string;
  /** Rebuild even when the inputs are unchanged. */
  force?: boolean;
  /**
   * Replaces server kit templates (path relative to cloud-init/, e.g. "bin/todo-backup") with other
   * text: how the rehearsal ships "a server script changed in the working tree" without editing it.
   */
  serverKitOverrides?: Readonly<Record<string, string>>;
  /** Progress messages (default: stderr). */
  log?: (message: string) => void;
}

type Files = Map<string, { content: Buffer; mode: number }>;

const defaultLog = (message: string) => process.stderr.write(`release: ${message}\n`);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** What decides the bundle: app sources, the build script, this script, the locked dependencies. */
function inputFingerprint(): string {
  const hash = createHash("sha256");
  const files = [
    ...listFiles(join(projectRoot, "app")),
    ...listFiles(join(projectRoot, "contract")),
    ...listFiles(join(projectRoot, "release")),
    ...listFiles(join(projectRoot, "cloud-init")),
    join(projectRoot, "package.json"),
    join(projectRoot, "package-lock.json"),
  ]
    .filter((f) => existsSync(f))
    .sort();
  for (const file of files) {
    hash.update(relative(projectRoot, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/** SHA-256 over sorted (path, executable bit, size, content): independent of archive metadata. */
export function contentHash(files: Files): string {
  const hash = createHash("sha256");
  for (const path of [...files.keys()].sort()) {
    const { content, mode } = files.get(path)!;
    hash.update(`${path}\0${mode & 0o111 ? "x" : "-"}\0${content.length}\0`).update(content);
  }
  return hash.digest("hex").slice(0, 12);
}

function readPackageJson(dir: string): { name: string; version: string } {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
}

/** The installed package directory, or (for the Linux binary on other platforms) one from `npm pack`. */
function nativePackageDir(name: string, version: string, cacheDir: string, log: (m: string) => void): string {
  const installed = join(projectRoot, "node_modules", name);
  if (existsSync(join(installed, "package.json")) && readPackageJson(installed).version === version) {
    return installed;
  }
  const cached = join(cacheDir, `${name.replace("/", "+")}@${version}`);
  if (!existsSync(join(cached, "package.json"))) {
    log(`${name}@${version} is not installed here; fetching it with npm pack`);
    const tmp = mkdtempSync(join(cacheDir, ".pack-"));
    try {
      const out = execFileSync("npm", ["pack", `${name}@${version}`, "--silent", "--pack-destination", tmp], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      });
      const tgz = join(tmp, out.trim().split("\n").at(-1)!);
      execFileSync("tar", ["-xzf", tgz, "-C", tmp]);
      rmSync(cached, { recursive: true, force: true });
      renameSync(join(tmp, "package"), cached);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return cached;
}

function releasePackageJson(version: string, bcryptVersion: string): string {
  const manifest = {
    name: RELEASE_APP_NAME,
    version,
    private: true,
    type: "module",
    description: "Production release of the Todo API: node server.mjs (HTTP), node migrate.mjs up|down|status.",
    engines: { node: ">=20.9.0" },
    scripts: { start: "node server.mjs", migrate: "node migrate.mjs", admin: "node admin.mjs" },
    dependencies: { "@node-rs/bcrypt": bcryptVersion },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Template folders of cloud-init/ that the server kit carries (the layout kit.ts reads). */
const KIT_TEMPLATE_DIRS = ["bin", "systemd", "nginx", "etc", "lib"] as const;

/**
 * The server kit, `server/` in the release: todo-setup and every server script, unit and
 * Nginx site as templates, the installer that renders them on the server (kit.mjs), and the entry
 * point the deploy runs (server/install, from cloud-init/bin/todo-install).
 */
function kitFiles(kitFile: string): Files {
  const files: Files = new Map();
  const cloudInit = join(projectRoot, "cloud-init");
  for (const dir of KIT_TEMPLATE_DIRS) {
    for (const file of listFiles(join(cloudInit, dir))) {
      if (file.endsWith(`${sep}todo-install`)) continue; // shipped as server/install
      const rel = relative(cloudInit, file).split(sep).join("/");
      files.set(`${RELEASE_KIT_DIR}/${rel}`, { content: readFileSync(file), mode: dir === "bin" ? 0o755 : 0o644 });
    }
  }
  files.set(`${RELEASE_KIT_DIR}/install`, { content: readFileSync(join(cloudInit, "bin/todo-install")), mode: 0o755 });
  files.set(`${RELEASE_KIT_DIR}/kit.mjs`, { content: readFileSync(kitFile), mode: 0o644 });
  return files;
}

/** Collects the release's files from a bundle directory and the native packages. */
function collectFiles(bundleDir: string, kitFile: string, cacheDir: string, log: (m: string) => void): Files {
  const files: Files = new Map();
  for (const name of ["server.mjs", "migrate.mjs"]) {
    const path = join(bundleDir, name);
    if (!existsSync(path)) throw new Error(`the build did not produce ${path}`);
    files.set(name, { content: readFileSync(path), mode: 0o644 });
  }
  // Said by the server itself: a bundle taken from an older release (the rehearsal's variants)
  // that does not read LISTEN_FDS gets no marker, and the kit lets it bind its port.
  if (readFileSync(join(bundleDir, "server.mjs"), "utf8").includes("LISTEN_FDS")) {
    files.set(SOCKET_ACTIVATION_MARKER, {
      content: Buffer.from("server.mjs serves on the listening socket systemd passes (LISTEN_FDS)\n"),
      mode: 0o644,
    });
  }
  // The admin command (todo-admin runs it). Optional: a bundle directory taken from an older
  // release (the rehearsal's variants) has none, and that release simply lacks the command.
  const adminCommand = join(bundleDir, "admin.mjs");
  if (existsSync(adminCommand)) files.set("admin.mjs", { content: readFileSync(adminCommand), mode: 0o644 });
  // The server's off-site backup client (todo-backup/todo-restore run it from the current
  // release): too big for the 16 KB user data, and versioned with the release this way.
  for (const file of OFFSITE_CLIENT)
    files.set(basename(file), { content: readFileSync(join(projectRoot, file)), mode: 0o644 });
  for (const [path, file] of kitFiles(kitFile)) files.set(path, file);
  const require = createRequire(join(projectRoot, "package.json"));
  const bcryptDir = dirname(require.resolve("@node-rs/bcrypt/package.json"));
  const bcryptVersion = readPackageJson(bcryptDir).version;
  for (const name of NATIVE_PACKAGES) {
    const dir = name === "@node-rs/bcrypt" ? bcryptDir : nativePackageDir(name, bcryptVersion, cacheDir, log);
    for (const file of listFiles(dir)) {
      const rel = relative(dir, file).split(sep).join("/");
      files.set(`node_modules/${name}/${rel}`, { content: readFileSync(file), mode: 0o644 });
    }
  }
  if (![...files.keys()].some((f) => f.endsWith("bcrypt.linux-x64-gnu.node"))) {
    throw new Error("the Linux x64 bcrypt binary is missing from the release");
  }
  const version = readPackageJson(projectRoot).version;
  files.set("package.json", { content: Buffer.from(releasePackageJson(version, bcryptVersion)), mode: 0o644 });
  return files;
}

/** The tar entries (directories included), sorted, RELEASE added. */
function archiveEntries(files: Files, hash: string): TarEntry[] {
  const all = new Map(files);
  all.set("RELEASE", { content: Buffer.from(`${hash}\n`), mode: 0o644 });
  const dirs = new Set<string>();
  for (const path of all.keys()) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const entries: TarEntry[] = [
    ...[...dirs].map((path) => ({ path, type: "directory" as const, mode: 0o755 })),
    ...[...all].map(([path, f]) => ({ path, type: "file" as const, mode: f.mode, content: f.content })),
  ];
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function buildRelease(options: ReleaseOptions = {}): Promise<Release> {
  const log = options.log ?? defaultLog;
  const outDir = resolve(options.outDir ?? join(projectRoot, "dist/release"));
  const cacheDir = join(outDir, ".cache");
  mkdirSync(cacheDir, { recursive: true });

  // Unchanged inputs → the tarball built from them last time, without running the build.
  const fingerprint = options.bundleDir || options.serverKitOverrides ? null : inputFingerprint();
  const memo = fingerprint ? join(cacheDir, `inputs-${fingerprint.slice(0, 16)}.json`) : null;
  if (memo && !options.force && existsSync(memo)) {
    const previous = JSON.parse(readFileSync(memo, "utf8")) as Release;
    if (existsSync(previous.path)) {
      log(`unchanged since the last build: ${previous.path}`);
      return previous;
    }
  }

  let bundleDir = options.bundleDir;
  let buildDir: string | undefined;
  const started = Date.now();
  if (!bundleDir) {
    buildDir = mkdtempSync(join(cacheDir, ".build-"));
    const { buildServer } = await import("./bundle.js");
    await buildServer({ outDir: buildDir });
    bundleDir = buildDir;
  }
  const kitDir = mkdtempSync(join(cacheDir, ".kit-"));
  try {
    const { buildServerKit } = await import("./bundle.js");
    const kitFile = await buildServerKit(join(kitDir, "kit.mjs"));
    const files = collectFiles(bundleDir, kitFile, cacheDir, log);
    for (const [path, text] of Object.entries(options.serverKitOverrides ?? {})) {
      const key = `${RELEASE_KIT_DIR}/${path}`;
      const file = files.get(key);
      if (!file) throw new Error(`serverKitOverrides: the kit has no ${path}`);
      files.set(key, { content: Buffer.from(text), mode: file.mode });
    }
    const hash = contentHash(files);
    const path = join(outDir, releaseFileName(hash));
    if (!existsSync(path)) {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, gzipDeterministic(createTar(archiveEntries(files, hash))));
      renameSync(tmp, path);
    }
    const size = (statSync(path).size / 1024 / 1024).toFixed(1);
    log(`${path} (${size} MiB, ${files.size + 1} files) in ${Date.now() - started} ms`);
    const release = { path, hash };
    if (memo) writeFileSync(memo, `${JSON.stringify(release)}\n`);
    return release;
  } finally {
    rmSync(kitDir, { recursive: true, force: true });
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  }
}

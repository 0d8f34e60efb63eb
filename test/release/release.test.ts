import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRelease, contentHash } from "../../release/build-release.js";
import { readTar } from "../../contract/tar.js";
import { runSmoke } from "../../scripts/smoke.js";
import { createTestDatabase } from "../support/database.js";
import { freePort, run } from "../cloud-init/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "release-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const quiet = () => {};

const EXPECTED_FILES = [
  "RELEASE",
  "migrate.mjs",
  "node_modules/@node-rs/bcrypt-linux-x64-gnu/bcrypt.linux-x64-gnu.node",
  "node_modules/@node-rs/bcrypt-linux-x64-gnu/package.json",
  "node_modules/@node-rs/bcrypt/index.js",
  "node_modules/@node-rs/bcrypt/binding.js",
  "node_modules/@node-rs/bcrypt/package.json",
  "package.json",
  "server.mjs",
];

describe("the release tarball, assembled from a stand-in bundle", () => {
  const bundle = join(dir, "bundle");
  beforeAll(() => {
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "server.mjs"), "console.log('server');\n");
    writeFileSync(join(bundle, "migrate.mjs"), "console.log('migrate');\n");
  });

  it("is named by its content hash and holds exactly the release layout", async () => {
    const release = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out1"), log: quiet });
    expect(release.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(release.path).toBe(join(dir, "out1", `todo-api-${release.hash}.tar.gz`));
    const entries = readTar(gunzipSync(readFileSync(release.path)));
    const files = entries.filter((e) => e.type === "file").map((e) => e.path);
    for (const f of EXPECTED_FILES) expect(files).toContain(f);
    expect(
      files.every(
        (f) =>
          !f.startsWith("/") && (f.startsWith("node_modules/@node-rs/") || f.startsWith("server/") || !f.includes("/")),
      ),
    ).toBe(true);
    // The server kit: every server script, unit and site, the installer and its entry point.
    for (const f of [
      "server/install",
      "server/kit.mjs",
      "server/bin/todo-setup",
      "server/bin/todo-bootstrap",
      "server/bin/todo-release",
      "server/systemd/app@.service",
      "server/systemd/app@.socket",
      "server/nginx/site-http.conf",
      "server/etc/journald.conf",
    ]) {
      expect(files, f).toContain(f);
    }
    // a server that does not read LISTEN_FDS is not put on a socket unit by the kit
    expect(files).not.toContain("SOCKET_ACTIVATION");
    expect(entries.find((e) => e.path === "server/install")!.mode & 0o111).not.toBe(0);
    expect(entries.find((e) => e.path === "RELEASE")!.content!.toString()).toBe(`${release.hash}\n`);
    const manifest = JSON.parse(entries.find((e) => e.path === "package.json")!.content!.toString());
    expect(manifest).toMatchObject({ name: "todo-api", type: "module", dependencies: { "@node-rs/bcrypt": "1.10.8" } });
    expect(entries.map((e) => e.path)).toEqual([...entries.map((e) => e.path)].sort());
    // the hash is over content, so recomputing it from the unpacked files gives it again
    const content = new Map(
      entries
        .filter((e) => e.type === "file" && e.path !== "RELEASE")
        .map((e) => [e.path, { content: e.content!, mode: e.mode }]),
    );
    expect(contentHash(content)).toBe(release.hash);
  });

  it("is byte-for-byte reproducible, with fixed owners and times (GNU tar agrees)", async () => {
    const a = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out2"), log: quiet });
    const b = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out3"), log: quiet });
    expect(b.hash).toBe(a.hash);
    expect(readFileSync(b.path).equals(readFileSync(a.path))).toBe(true);
    const listing = run("tar", ["-tvzf", a.path, "--numeric-owner"]);
    expect(listing.status, listing.stderr).toBe(0);
    for (const line of listing.stdout.trim().split("\n")) expect(line).toMatch(/ 0\/0 .* 1970-01-01 00:00 /);
  });

  it("changes its hash when the content changes", async () => {
    const before = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out4"), log: quiet });
    writeFileSync(join(bundle, "server.mjs"), "console.log('server v2');\n");
    const after = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out4"), log: quiet });
    expect(after.hash).not.toBe(before.hash);
  });
});

describe("the real release (npm run build of app/)", () => {
  let first: Awaited<ReturnType<typeof buildRelease>>;
  let server: ChildProcess | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
    await db?.drop();
  });

  it("builds twice to the same hash and the same bytes", async () => {
    first = await buildRelease({ outDir: join(dir, "real1"), force: true, log: quiet });
    const second = await buildRelease({ outDir: join(dir, "real2"), force: true, log: quiet });
    expect(second.hash).toBe(first.hash);
    expect(readFileSync(second.path).equals(readFileSync(first.path))).toBe(true);
    const files = readTar(gunzipSync(readFileSync(first.path))).map((e) => e.path);
    for (const f of EXPECTED_FILES) expect(files).toContain(f);
    // the app's server takes systemd's socket, so the kit starts it on its socket unit
    expect(files).toContain("SOCKET_ACTIVATION");
  }, 120_000);

  it("runs from the unpacked tarball alone: migrations, server, and the smoke test through it", async () => {
    const unpacked = join(dir, "unpacked");
    mkdirSync(unpacked);
    expect(run("tar", ["-xzf", first.path, "-C", unpacked]).status).toBe(0);
    // The off-site backup client loads with the module it imports (it stops at its missing settings).
    const offsite = run(process.execPath, ["offsite.mjs", "list"], {
      cwd: unpacked,
      env: { PATH: process.env.PATH, TODO_HOST_CONF: join(unpacked, "no-host.conf") },
    });
    expect(offsite.stderr).toBe("todo-offsite: error: offsite backups are not configured (OFFSITE_BUCKET missing)\n");
    db = await createTestDatabase();
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      DATABASE_URL: db.url,
      JWT_SECRET: "a".repeat(64),
      BCRYPT_COST: "4",
      LOG_LEVEL: "warn",
      MIGRATE_ON_START: "false",
    };
    // No NODE_PATH and nothing of the project's node_modules above /tmp: only what the tarball holds.
    const migrate = run(process.execPath, ["migrate.mjs", "up"], { cwd: unpacked, env });
    expect(migrate.status, migrate.stderr + migrate.stdout).toBe(0);
    const port = await freePort();
    server = spawn(process.execPath, ["server.mjs"], {
      cwd: unpacked,
      env: { ...env, HOST: "127.0.0.1", PORT: String(port) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    server.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (server.exitCode !== null) throw new Error(`server.mjs exited: ${stderr}`);
      const up = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const steps: string[] = [];
    const result = await runSmoke(base, {
      report: (s) => steps.push(`${s.ok ? "ok" : "FAIL"} ${s.name} ${s.detail ?? ""}`),
    });
    expect(steps.filter((s) => s.startsWith("FAIL"))).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.steps).toHaveLength(12);
  }, 60_000);
});

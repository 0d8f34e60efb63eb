import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTar, gzipDeterministic } from "../../contract/tar.js";
import { makeRelease, releaseEnv, STANDIN_SYSTEMCTL } from "./release-stand-in.js";
import { freePort, renderedFiles, run, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const curl = requireTool("curl");

/**
 * The release command as cloud-init installs it (rendered, comments stripped), run against a
 * temporary tree. A stand-in `systemctl` starts and stops real node HTTP servers from
 * `current/server.mjs`, one per port, so every health check is a real HTTP request to /readyz.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-release-"));
const root = join(dir, "opt");
const state = join(dir, "state");
const envFile = join(dir, "etc/env");
const releaseCmd = join(dir, "todo-release");
let ports: number[] = [];

function release(args: string[], input?: string, extraEnv: Record<string, string> = {}) {
  return run("bash", [releaseCmd, ...args], {
    input,
    timeout: 90_000,
    env: {
      ...releaseEnv({ dir, state, root, envFile }),
      TODO_CLOUD_INIT: join(dir, "cloud-init"),
      TODO_SETUP_DONE: join(state, "setup-done"),
      STANDIN_PORTS: ports.join(" "),
      ...extraEnv,
    },
  });
}

/** GET /readyz on a fresh connection (a pooled one could be left over from a replaced process). */
function readyz(port: number): Promise<{ status: number; body: Record<string, string> } | null> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on("error", () => resolve(null));
  });
}

async function servedRelease(port: number): Promise<string | null> {
  return (await readyz(port))?.body.release ?? null;
}

const link = (name: string) => (existsSync(join(root, name)) ? readlinkSync(join(root, name)) : null);
const systemctlLog = () =>
  existsSync(join(state, "systemctl.log")) ? readFileSync(join(state, "systemctl.log"), "utf8").trim().split("\n") : [];
const resetLog = () => rmSync(join(state, "systemctl.log"), { force: true });
const migrations = () => readFileSync(join(state, "migrations.log"), "utf8").trim().split("\n");
const keptReleases = () =>
  readdirSync(join(root, "releases"))
    .filter((n) => /^[0-9a-f]{12}$/.test(n))
    .sort();

beforeAll(async () => {
  ports = [await freePort(), await freePort()];
  mkdirSync(state, { recursive: true });
  const rendered = renderedFiles(variants["local, no domain"]!);
  writeFileSync(releaseCmd, rendered.get("/usr/local/sbin/todo-release")!.content);
  chmodSync(releaseCmd, 0o755);
  writeFileSync(
    join(dir, "host.conf"),
    rendered
      .get("/etc/todo-host.conf")!
      .content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${ports.join(" ")}'`)
      .replace(/^KEEP_RELEASES=.*$/m, "KEEP_RELEASES='3'"),
  );
  writeFileSync(join(state, "setup-done"), "setup done (test)\n");
  writeFileSync(join(dir, "systemctl"), STANDIN_SYSTEMCTL);
  chmodSync(join(dir, "systemctl"), 0o755);
  writeFileSync(join(dir, "cloud-init"), `#!/bin/sh\necho "cloud-init $*" >>"${state}/cloud-init.log"\n`);
  chmodSync(join(dir, "cloud-init"), 0o755);
});

afterAll(() => {
  for (const port of ports) {
    const pidfile = join(state, `${port}.pid`);
    if (existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, "utf8")), "SIGKILL");
      } catch {}
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("todo-release set-env", () => {
  it("writes the value from stdin into the env file without ever printing it", () => {
    const secret = "postgres://todo_api:s3cr3t-Value_42@10.0.0.5:5432/todo_api?sslmode=require";
    const r = release(["set-env", "DATABASE_URL"], secret);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain("s3cr3t");
    expect(readFileSync(envFile, "utf8")).toBe(`DATABASE_URL=${secret}\n`);
    expect(statSync(envFile).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(state, "cloud-init.log"), "utf8")).toContain("cloud-init status --wait");
  });

  it("replaces a key in place and keeps the others", () => {
    expect(release(["set-env", "NODE_ENV"], "production\n").status).toBe(0);
    expect(release(["set-env", "MIGRATE_LOG"], join(state, "migrations.log")).status).toBe(0);
    expect(release(["set-env", "DATABASE_URL"], "postgres://u:p@127.0.0.1/db").status).toBe(0);
    const lines = readFileSync(envFile, "utf8").trim().split("\n");
    expect(lines).toEqual([
      "NODE_ENV=production",
      `MIGRATE_LOG=${join(state, "migrations.log")}`,
      "DATABASE_URL=postgres://u:p@127.0.0.1/db",
    ]);
    expect(readdirSync(join(dir, "etc"))).toEqual(["env"]); // no temp file left behind
  });

  it.each([
    [["set-env", "lower"], "x", /invalid variable name/],
    [["set-env", "PORT"], "1", /set per instance/],
    [["set-env", "JWT_SECRET"], "", /no value/],
    [["set-env", "JWT_SECRET"], "a'b", /percent-encode/],
    [["set-env", "JWT_SECRET"], "a$HOME", /percent-encode/],
    [["set-env", "JWT_SECRET"], "line1\nline2", /percent-encode/],
  ])("refuses %j with bad input", (args, input, message) => {
    const before = readFileSync(envFile, "utf8");
    const r = release(args, input);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(readFileSync(envFile, "utf8")).toBe(before);
  });
});

describe.skipIf(curl.missing)("todo-release deploy, rollback, status", () => {
  const a = makeRelease(dir, "A");
  const b = makeRelease(dir, "B");

  it("first deploy: unpacks, migrates, points current at it and starts every instance", async () => {
    const r = release(["deploy", a.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(link("current")).toBe(`releases/${a.hash}`);
    expect(link("previous")).toBeNull();
    expect(migrations()).toEqual([`${a.hash} up production`]);
    for (const port of ports) expect(await servedRelease(port)).toBe(a.hash);
    expect(systemctlLog()).toEqual(expect.arrayContaining(ports.map((p) => `enable todo-api@${p}`)));
    expect(statSync(join(root, "releases", a.hash, "server.mjs")).mode & 0o777).toBe(0o644);
  });

  it("second deploy: restarts one instance at a time, the other always serving", async () => {
    resetLog();
    const r = release(["deploy", b.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(link("current")).toBe(`releases/${b.hash}`);
    expect(link("previous")).toBe(`releases/${a.hash}`);
    const restarts = systemctlLog().filter((l) => l.startsWith("restart"));
    expect(restarts).toEqual(ports.map((p) => `restart todo-api@${p} others-up`));
    for (const port of ports) expect(await servedRelease(port)).toBe(b.hash);
  });

  it("deploying the current, healthy release again changes nothing", () => {
    resetLog();
    const r = release(["deploy", b.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("nothing to do");
    expect(systemctlLog().filter((l) => l.startsWith("restart"))).toEqual([]);
    expect(link("previous")).toBe(`releases/${a.hash}`);
  });

  it.each([
    ["never becomes ready", "unready", "not ready on http://127.0.0.1:"],
    ["crashes at start", "crash", "exited while starting"],
  ] as const)("a release that %s is rolled back by itself after the first instance", async (_what, mode, reason) => {
    resetLog();
    const bad = makeRelease(dir, `bad-${mode}`, mode);
    // a crash is noticed at once; "not ready" takes the whole timeout, so the crash gets a long one
    const timeout = mode === "crash" ? "60" : "3";
    const started = Date.now();
    const r = release(["deploy", bad.path], undefined, { TODO_READY_TIMEOUT: timeout });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(reason);
    if (mode === "crash") expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stderr).toContain(`rolled back to ${b.hash}`);
    expect(link("current")).toBe(`releases/${b.hash}`);
    expect(link("previous")).toBe(`releases/${a.hash}`);
    expect(existsSync(join(root, "releases", bad.hash))).toBe(false);
    // the bad release only ever replaced the first instance; then both came back on B
    const restarts = systemctlLog().filter((l) => l.startsWith("restart"));
    expect(restarts).toEqual([
      `restart todo-api@${ports[0]} others-up`,
      `restart todo-api@${ports[0]} others-up`,
      `restart todo-api@${ports[1]} others-up`,
    ]);
    for (const port of ports) expect(await servedRelease(port)).toBe(b.hash);
  });

  it("a release whose migrations fail is never switched to", async () => {
    resetLog();
    const bad = makeRelease(dir, "bad-migration", "bad-migration");
    const r = release(["deploy", bad.path]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("migrations");
    expect(r.stderr).toContain("migration 0002 failed");
    expect(link("current")).toBe(`releases/${b.hash}`);
    expect(existsSync(join(root, "releases", bad.hash))).toBe(false);
    expect(systemctlLog().filter((l) => l.startsWith("restart"))).toEqual([]);
    for (const port of ports) expect(await servedRelease(port)).toBe(b.hash);
  });

  it("refuses a tarball that is not a release", () => {
    const junk = join(dir, "junk.tar.gz");
    writeFileSync(
      junk,
      gzipDeterministic(createTar([{ path: "README", type: "file", mode: 0o644, content: Buffer.from("hi") }])),
    );
    const r = release(["deploy", junk]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("is not a release");
    expect(release(["deploy", join(dir, "missing.tar.gz")]).stderr).toContain("no such file");
  });

  it("refuses to switch on a host whose setup is not done, touching nothing", () => {
    const before = [link("current"), link("previous")];
    const r = release(["deploy", b.path], undefined, { TODO_SETUP_DONE: join(state, "no-such-marker") });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("setup is not done");
    expect([link("current"), link("previous")]).toEqual(before);
  });

  it("status shows current, previous and healthy instances", () => {
    const r = release(["status"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`current:  ${b.hash}`);
    expect(r.stdout).toContain(`previous: ${a.hash}`);
    for (const port of ports) expect(r.stdout).toMatch(new RegExp(`todo-api@${port}\\s+active\\s+ready`));
  });

  it("rollback returns to the previous release with a rolling restart", async () => {
    resetLog();
    const r = release(["rollback"]);
    expect(r.status, r.stderr).toBe(0);
    expect(link("current")).toBe(`releases/${a.hash}`);
    expect(link("previous")).toBe(`releases/${b.hash}`);
    expect(systemctlLog().filter((l) => l.startsWith("restart"))).toEqual(
      ports.map((p) => `restart todo-api@${p} others-up`),
    );
    for (const port of ports) expect(await servedRelease(port)).toBe(a.hash);
  });

  it("restart applies a changed env file, one instance at a time", async () => {
    expect(release(["set-env", "GREETING"], "hello-from-env").status).toBe(0);
    const r = release(["restart"]);
    expect(r.status, r.stderr).toBe(0);
    for (const port of ports) {
      const body = (await readyz(port))!.body;
      expect(body.greeting).toBe("hello-from-env");
      expect(body.cwd).toBe(join(root, "releases", a.hash));
    }
  });

  it("keeps the newest releases plus current and previous, removing the rest", async () => {
    // kept so far: A (current, after the rollback), B (previous); the failed ones were discarded
    const c = makeRelease(dir, "C");
    const d = makeRelease(dir, "D");
    expect(release(["deploy", c.path]).status).toBe(0);
    expect(release(["deploy", d.path]).status).toBe(0);
    const kept = keptReleases();
    expect(kept).toHaveLength(3);
    // D current, C previous, A the most recently current before them; B pruned
    expect(kept).toEqual([c.hash, d.hash, a.hash].sort());
    expect(link("current")).toBe(`releases/${d.hash}`);
    expect(link("previous")).toBe(`releases/${c.hash}`);
    expect(readdirSync(join(root, "releases")).filter((n) => n.startsWith("."))).toEqual([]);
    for (const port of ports) expect(await servedRelease(port)).toBe(d.hash);
  });

  it("status exits non-zero when an instance is not ready", () => {
    run(join(dir, "systemctl"), ["stop", `todo-api@${ports[1]}`], { env: { ...process.env, STANDIN_STATE: state } });
    const r = release(["status"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toMatch(new RegExp(`todo-api@${ports[1]}\\s+inactive\\s+NOT ready`));
  });
});

import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installServerFiles } from "../../cloud-init/kit.js";
import { serverFiles } from "../../cloud-init/render.js";
import { requireTool } from "../support/tools.js";
import { freePort, renderedFiles, run, variants } from "./helpers.js";
import { makeRelease, releaseEnv, STANDIN_SYSTEMCTL } from "./release-stand-in.js";

const curl = requireTool("curl");

/**
 * todo-release after things went wrong: a deploy killed halfway (SIGKILL: no trap runs) and run
 * again, its drain flag left behind, the dump before a release's migrations, and a rollback that
 * puts back the server kit and the Node.js the previous release ran with. Real node HTTP servers
 * behind the stand-in systemctl (release-stand-in.ts); the kit is installed into a temporary root
 * by the kit's own installer.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-release-recovery-"));
const root = join(dir, "opt");
const state = join(dir, "state");
const drains = join(dir, "run");
const kitRoot = join(dir, "kit-root");
const nodeOpt = join(dir, "node-opt");
const releaseCmd = join(dir, "todo-release");
const order = join(state, "order.log");
let ports: number[] = [];

function release(args: string[], extraEnv: Record<string, string> = {}) {
  return run("bash", [releaseCmd, ...args], {
    timeout: 90_000,
    env: {
      ...releaseEnv({ dir, state, root }),
      TODO_RUN_AS_POSTGRES: "",
      TODO_NODE_DIR: join(nodeOpt, "node"),
      TODO_DRAIN_PAUSE: "0",
      TODO_DRAIN_DIR: drains,
      TODO_NO_WAIT: "1",
      TODO_SETUP_DONE: join(state, "setup-done"),
      TODO_BACKUP_CMD: join(dir, "todo-backup"),
      TODO_KIT_ROOT: kitRoot,
      TODO_NGINX: "true",
      STANDIN_PORTS: ports.join(" "),
      ...extraEnv,
    },
  });
}

function servedRelease(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve(JSON.parse(text).release ?? null));
    });
    req.on("error", () => resolve(null));
  });
}

/** Kills todo-release (SIGKILL) the moment it asks to restart the first instance: no trap runs. */
function killedDeploy(tarball: string) {
  const r = release(["deploy", tarball], { STANDIN_KILL_AT: `restart todo-api@${ports[0]}` });
  expect(r.status).not.toBe(0);
}

beforeAll(async () => {
  ports = [await freePort(), await freePort()];
  mkdirSync(state, { recursive: true });
  const rendered = renderedFiles(variants["local, no domain"]!);
  writeFileSync(releaseCmd, rendered.get("/usr/local/sbin/todo-release")!.content);
  writeFileSync(
    join(dir, "host.conf"),
    rendered.get("/etc/todo-host.conf")!.content.replace(/^APP_PORTS=.*$/m, `APP_PORTS='${ports.join(" ")}'`),
  );
  writeFileSync(join(dir, "env"), `MIGRATE_LOG=${order}\nNODE_ENV=production\n`);
  writeFileSync(join(state, "setup-done"), "setup done (test)\n");
  // the stand-in, able to SIGKILL its caller at one action
  writeFileSync(
    join(dir, "systemctl"),
    STANDIN_SYSTEMCTL.replace(
      "case $action in",
      'if [ "$*" = "${STANDIN_KILL_AT:-}" ]; then kill -9 "$PPID"; exit 1; fi\ncase $action in',
    ),
  );
  writeFileSync(
    join(dir, "todo-backup"),
    `#!/bin/sh\necho "backup: $TODO_BACKUP_REASON" >>"${order}"\n[ -z "\${BACKUP_FAIL:-}" ]\n`,
  );
  for (const f of ["systemctl", "todo-backup", "todo-release"]) chmodSync(join(dir, f), 0o755);
  mkdirSync(join(nodeOpt, "node-v24.1.0-linux-x64", "bin"), { recursive: true });
  symlinkSync(join(nodeOpt, "node-v24.1.0-linux-x64"), join(nodeOpt, "node"));
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

describe.skipIf(curl.missing)("todo-release after an interruption", () => {
  const a = makeRelease(dir, "A");
  const b = makeRelease(dir, "B");
  const c = makeRelease(dir, "C");

  it("dumps the database before a new release's migrations", () => {
    const r = release(["deploy", a.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(order, "utf8").trim().split("\n")).toEqual([
      `backup: before the migrations of ${a.hash}`,
      `${a.hash} up production`,
    ]);
  });

  it("a failing dump stops a deploy before its migrations, switching nothing", () => {
    rmSync(order);
    const r = release(["deploy", b.path], { BACKUP_FAIL: "1" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the dump before the migrations of ${b.hash} failed`);
    expect(readFileSync(order, "utf8").trim().split("\n")).toEqual([`backup: before the migrations of ${b.hash}`]);
    expect(readlinkSync(join(root, "current"))).toBe(`releases/${a.hash}`);
  });

  it("status says which release each instance runs, and removes a drain flag no deploy holds", async () => {
    killedDeploy(b.path);
    expect(readlinkSync(join(root, "current"))).toBe(`releases/${b.hash}`);
    expect(readdirSync(drains)).toEqual([`drain-${ports[0]}`]);
    const r = release(["status"]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain(`runs ${a.hash}, NOT the current release`);
    expect(r.stdout).toContain(`drain:    drain-${ports[0]} (stale: removed)`);
    expect(readdirSync(drains)).toEqual([]);
  });

  it("a killed deploy run again finishes it: every instance ends on the new release", async () => {
    const r = release(["deploy", b.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("nothing to do");
    expect(r.stderr).toContain("not every instance runs it");
    for (const port of ports) expect(await servedRelease(port)).toBe(b.hash);
    const status = release(["status"]);
    expect(status.status, status.stdout).toBe(0);
    for (const port of ports)
      expect(status.stdout).toContain(`todo-api@${port}  active  ready  runs ${b.hash} (current)`);
  });

  it("a deploy after a killed one removes the drain flag it left, so Nginx uses every instance again", async () => {
    killedDeploy(c.path);
    expect(readdirSync(drains)).toEqual([`drain-${ports[0]}`]);
    const r = release(["deploy", c.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed drain-${ports[0]} (left by an interrupted deploy)`);
    expect(readdirSync(drains)).toEqual([]);
    for (const port of ports) expect(await servedRelease(port)).toBe(c.hash);
  });
});

describe.skipIf(curl.missing)("todo-release rollback", () => {
  const d = makeRelease(dir, "D");
  const e = makeRelease(dir, "E");
  const records = {
    changed: "/var/lib/todo-setup/changed",
    history: "/var/lib/todo-setup/kit-changes.log",
    previous: "/var/lib/todo-setup/kit-previous",
  };
  const manifest = "/var/lib/todo-setup/installed-files";

  it("puts back the server kit and the Node.js the previous release ran with", async () => {
    const before = serverFiles(variants["local, no domain"]!);
    installServerFiles(before, kitRoot, manifest, records);
    expect(release(["deploy", d.path]).status).toBe(0); // with Node.js 24.1.0
    // E's deploy: a new kit (a domain: more files, changed host settings) and Node.js 24.2.0
    const after = serverFiles(variants["local, domain"]!);
    const result = installServerFiles(after, kitRoot, manifest, records);
    expect(result.changed.length).toBeGreaterThan(0);
    // (what todo-bootstrap does for a newly pinned version: unpacked beside the old one, link switched)
    mkdirSync(join(nodeOpt, "node-v24.2.0-linux-x64", "bin"), { recursive: true });
    rmSync(join(nodeOpt, "node"));
    symlinkSync(join(nodeOpt, "node-v24.2.0-linux-x64"), join(nodeOpt, "node"));
    const deployed = release(["deploy", e.path]);
    expect(deployed.status, deployed.stderr).toBe(0);
    // the Node.js D ran with is kept for the rollback
    expect(readdirSync(nodeOpt).sort()).toEqual(["node", "node-v24.1.0-linux-x64", "node-v24.2.0-linux-x64"]);

    const r = release(["rollback"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readlinkSync(join(root, "current"))).toBe(`releases/${d.hash}`);
    expect(readlinkSync(join(nodeOpt, "node"))).toBe(join(nodeOpt, "node-v24.1.0-linux-x64"));
    for (const f of before) expect(readFileSync(join(kitRoot, f.path), "utf8"), f.path).toBe(f.content);
    for (const f of after.filter((x) => !before.some((y) => y.path === x.path)))
      expect(existsSync(join(kitRoot, f.path)), f.path).toBe(false);
    const history = readFileSync(join(kitRoot, records.history), "utf8");
    expect(history).toMatch(/ updated \/etc\/todo-host\.conf\n/);
    expect(history).toMatch(/ rollback \/etc\/todo-host\.conf\n/);
    expect(history).toMatch(/ rollback-removed \/etc\/nginx\/sites-available\/todo-api-https\.conf\n/);
    for (const port of ports) expect(await servedRelease(port)).toBe(d.hash);
  });
});

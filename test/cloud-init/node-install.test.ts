import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTar } from "../../contract/tar.js";
import { freePort, renderedFiles, run, runAsync, variants, SHELL_LIBRARY_ENV } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const curl = requireTool("curl");

/**
 * The Node.js step of todo-bootstrap (`todo-bootstrap node`) against a mirror on loopback laid out
 * like nodejs.org/dist, serving a fake Node.js .tar.xz whose `bin/node` prints its version. The
 * version and SHA-256 come from the host settings (pinned in the repository), never from the mirror.
 */
const dir = mkdtempSync(join(tmpdir(), "node-install-"));
const bootstrap = join(dir, "todo-bootstrap");
const arch = process.arch === "arm64" ? "arm64" : "x64";
let server: Server;
let mirror = "";
const routes = new Map<string, Buffer | "hang">();
const requests: string[] = [];

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function xz(data: Buffer): Buffer {
  const r = spawnSync("xz", ["-c", "-0"], { input: data });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
  return r.stdout;
}

/** Publishes version on the mirror; returns the SHA-256 a pin would hold. */
function publish(version: string): string {
  const root = `node-v${version}-linux-${arch}`;
  const tarball = xz(
    createTar([
      { path: root, type: "directory", mode: 0o755 },
      { path: `${root}/bin`, type: "directory", mode: 0o755 },
      { path: `${root}/bin/node`, type: "file", mode: 0o755, content: Buffer.from(`#!/bin/sh\necho ${version}\n`) },
    ]),
  );
  routes.set(`/v${version}/${root}.tar.xz`, tarball);
  return sha256(tarball);
}

function hostConf(version: string, sum: string, extra: Record<string, unknown> = {}) {
  const files = renderedFiles({
    ...variants["local, no domain"]!,
    nodeMirror: mirror,
    nodeVersion: version,
    nodeSha256: arch === "x64" ? { x64: sum } : { x64: "0".repeat(64), arm64: sum },
    ...extra,
  });
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
}

function installNode(opt: string) {
  mkdirSync(join(opt, "bin"), { recursive: true });
  return runAsync("bash", [bootstrap, "node"], {
    env: {
      PATH: process.env.PATH,
      ...SHELL_LIBRARY_ENV,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_OPT_DIR: opt,
      TODO_BIN_DIR: join(opt, "bin"),
      TODO_BOOTSTRAP_LOCK: join(dir, "bootstrap.lock"),
    },
  });
}

beforeAll(async () => {
  const port = await freePort();
  server = createServer((req, res) => {
    requests.push(req.url!);
    const body = routes.get(req.url!);
    if (body === "hang") return; // accepts, never answers
    res.statusCode = body ? 200 : 404;
    res.end(body ?? "not found");
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  mirror = `http://127.0.0.1:${port}/`;
  const files = renderedFiles(variants["local, no domain"]!);
  writeFileSync(bootstrap, files.get("/usr/local/sbin/todo-bootstrap")!.content);
  chmodSync(bootstrap, 0o755);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests.length = 0;
});

describe.skipIf(curl.missing)("todo-bootstrap node", () => {
  it("installs exactly the pinned version, checked against the pinned SHA-256", async () => {
    hostConf("24.7.3", publish("24.7.3"));
    const opt = join(dir, "a");
    const r = await installNode(opt);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(readlinkSync(join(opt, "node"))).toBe(join(opt, `node-v24.7.3-linux-${arch}`));
    expect(readlinkSync(join(opt, "bin/node"))).toBe(join(opt, "node/bin/node"));
    expect(run(join(opt, "bin/node"), []).stdout.trim()).toBe("24.7.3");
    expect(requests).toEqual([`/v24.7.3/node-v24.7.3-linux-${arch}.tar.xz`]);
  });

  it("does nothing the second time (the pinned version is installed)", async () => {
    const r = await installNode(join(dir, "a"));
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("Node.js 24.7.3 already installed");
    expect(requests).toEqual([]);
  });

  it("moves an existing server to a newly pinned patch version, switching /opt/node atomically", async () => {
    hostConf("24.7.4", publish("24.7.4"));
    const opt = join(dir, "a");
    const r = await installNode(opt);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("replacing 24.7.3");
    expect(run(join(opt, "bin/node"), []).stdout.trim()).toBe("24.7.4");
    expect(existsSync(join(opt, `node-v24.7.3-linux-${arch}`))).toBe(true); // the running instances' binary stays until they restart
  });

  it("refuses a tarball whose SHA-256 does not match the pin, installing nothing", async () => {
    publish("24.9.1");
    hostConf("24.9.1", `${"0".repeat(63)}1`);
    const opt = join(dir, "c");
    const r = await installNode(opt);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("does not match the pinned checksum");
    expect(existsSync(join(opt, "node"))).toBe(false);
    expect(existsSync(join(opt, `node-v24.9.1-linux-${arch}`))).toBe(false);
  });

  it("says which file the mirror lacks", async () => {
    hostConf("24.99.0", "1".repeat(64));
    const r = await installNode(join(dir, "d"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`could not download ${mirror}v24.99.0/node-v24.99.0-linux-${arch}.tar.xz`);
  }, 120_000);

  it("gives up in bounded time on a mirror that accepts connections but never answers", async () => {
    routes.set(`/v24.9.9/node-v24.9.9-linux-${arch}.tar.xz`, "hang");
    hostConf("24.9.9", "1".repeat(64));
    // The real bounds are minutes (--speed-time 60, --max-time 900); checked here by their presence
    // in the script and by one bounded attempt with curl's limits scaled down.
    const script = renderedFiles(variants["local, no domain"]!).get("/usr/local/sbin/todo-bootstrap")!.content;
    for (const flag of [
      "--connect-timeout 10",
      "--speed-limit 1024",
      "--speed-time 60",
      "--max-time 900",
      "--retry-all-errors",
    ]) {
      expect(script).toContain(flag);
    }
    const fast = script
      .replace("--speed-time 60 --max-time 900", "--speed-time 2 --max-time 3")
      .replace("--retry 5 --retry-delay 5", "--retry 1 --retry-delay 1");
    writeFileSync(join(dir, "fast-bootstrap"), fast);
    const started = Date.now();
    const r = await runAsync("bash", [join(dir, "fast-bootstrap"), "node"], {
      env: {
        PATH: process.env.PATH,
        ...SHELL_LIBRARY_ENV,
        TODO_HOST_CONF: join(dir, "host.conf"),
        TODO_OPT_DIR: join(dir, "e"),
        TODO_BIN_DIR: join(dir, "e/bin"),
        TODO_BOOTSTRAP_LOCK: join(dir, "bootstrap.lock"),
      },
    });
    expect(r.status).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

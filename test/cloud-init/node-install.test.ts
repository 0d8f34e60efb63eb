import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTar, gzipDeterministic } from "../../contract/tar.js";
import { freePort, renderedFiles, run, runAsync, variants } from "./helpers.js";

/**
 * The Node.js step of todo-setup (`todo-setup node`) against a mirror on loopback laid out like
 * nodejs.org/dist, serving a fake Node.js tarball whose `bin/node` prints its version.
 */
const dir = mkdtempSync(join(tmpdir(), "node-install-"));
const setup = join(dir, "todo-setup");
const arch = process.arch === "arm64" ? "arm64" : "x64";
let server: Server;
let mirror = "";
let routes = new Map<string, Buffer>();
const requests: string[] = [];

function fakeNode(version: string): Buffer {
  const root = `node-${version}-linux-${arch}`;
  const script = `#!/bin/sh\necho ${version.slice(1)}\n`;
  return gzipDeterministic(
    createTar([
      { path: root, type: "directory", mode: 0o755 },
      { path: `${root}/bin`, type: "directory", mode: 0o755 },
      { path: `${root}/bin/node`, type: "file", mode: 0o755, content: Buffer.from(script) },
    ]),
  );
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A mirror holding `version` as .tar.gz; `latest` adds the latest-vN.x/ listing. */
function publish(version: string, opts: { latest: boolean; tamper?: boolean }) {
  routes = new Map();
  const file = `node-${version}-linux-${arch}.tar.gz`;
  const tarball = fakeNode(version);
  const sums = `${opts.tamper ? "0".repeat(64) : sha256(tarball)}  ${file}\n${"1".repeat(64)}  node-${version}-win-x64.zip\n`;
  routes.set(`/${version}/${file}`, tarball);
  routes.set(`/${version}/SHASUMS256.txt`, Buffer.from(sums));
  const major = version.slice(1).split(".")[0];
  if (opts.latest) routes.set(`/latest-v${major}.x/SHASUMS256.txt`, Buffer.from(sums));
  routes.set(
    "/index.json",
    Buffer.from(JSON.stringify([{ version: "v99.0.0" }, { version }, { version: `v${major}.0.0` }])),
  );
}

function installNode(opt: string) {
  mkdirSync(join(opt, "bin"), { recursive: true });
  return runAsync("bash", [setup, "node"], {
    env: {
      PATH: process.env.PATH,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_OPT_DIR: opt,
      TODO_BIN_DIR: join(opt, "bin"),
    },
  });
}

beforeAll(async () => {
  const port = await freePort();
  server = createServer((req, res) => {
    requests.push(req.url!);
    const body = routes.get(req.url!);
    res.statusCode = body ? 200 : 404;
    res.end(body ?? "not found");
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  mirror = `http://127.0.0.1:${port}/`;
  const files = renderedFiles({ ...variants["local, no domain"]!, nodeMirror: mirror, nodeMajor: 24 });
  writeFileSync(setup, files.get("/usr/local/sbin/todo-setup")!.content);
  chmodSync(setup, 0o755);
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests.length = 0;
});

describe("todo-setup node", () => {
  it("installs the newest vN.x from the mirror's latest-vN.x listing, checked against SHASUMS256.txt", async () => {
    publish("v24.7.3", { latest: true });
    const opt = join(dir, "a");
    const r = await installNode(opt);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(readlinkSync(join(opt, "node"))).toBe(join(opt, "node-v24.7.3-linux-" + arch));
    expect(readlinkSync(join(opt, "bin/node"))).toBe(join(opt, "node/bin/node"));
    expect(run(join(opt, "bin/node"), []).stdout.trim()).toBe("24.7.3");
    expect(requests).toContain(`/v24.7.3/node-v24.7.3-linux-${arch}.tar.gz`);
  });

  it("does nothing the second time (same major already installed)", async () => {
    const r = await installNode(join(dir, "a"));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Node.js 24.7.3 already installed");
    expect(requests).toEqual([]);
  });

  it("falls back to index.json when the mirror has no latest-vN.x/ directory", async () => {
    publish("v24.9.0", { latest: false });
    const opt = join(dir, "b");
    const r = await installNode(opt);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(run(join(opt, "bin/node"), []).stdout.trim()).toBe("24.9.0");
    expect(requests).toContain("/index.json");
  });

  it("refuses a tarball whose SHA-256 does not match, installing nothing", async () => {
    publish("v24.9.1", { latest: true, tamper: true });
    const opt = join(dir, "c");
    const r = await installNode(opt);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("does not match SHASUMS256.txt");
    expect(existsSync(join(opt, "node"))).toBe(false);
    expect(existsSync(join(opt, "node-v24.9.1-linux-" + arch))).toBe(false);
  });

  it("says so when the mirror has no such major", async () => {
    publish("v22.1.0", { latest: true });
    const r = await installNode(join(dir, "d"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("no Node.js 24.x found at http://127.0.0.1");
  });
});

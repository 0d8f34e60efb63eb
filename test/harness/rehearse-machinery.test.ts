import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRelease } from "../../release/build-release.js";
import { Cleanup } from "../../harness/rehearse/cleanup.js";
import { serveMirror, type MirrorServer } from "../../harness/rehearse/node-mirror.js";
import { variantRelease } from "../../harness/rehearse/releases.js";
import { debian12, rootfsKey } from "../../harness/rehearse/rootfs.js";

// The parts of `npm run rehearse` that do not need root or a container; the whole is exercised
// by running the rehearsal itself (docs/rehearsal.md).

describe("rehearsal mirror server", () => {
  let dir: string;
  let server: MirrorServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "mirror-test-"));
    mkdirSync(join(dir, "v24.1.2"));
    writeFileSync(join(dir, "v24.1.2", "SHASUMS256.txt"), "abc  node-v24.1.2-linux-x64.tar.xz\n");
    symlinkSync("v24.1.2", join(dir, "latest-v24.x"));
    writeFileSync(join(tmpdir(), "outside-the-mirror.txt"), "secret\n");
    server = await serveMirror(dir, "127.0.0.1", 0);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(tmpdir(), "outside-the-mirror.txt"), { force: true });
  });

  it("serves files, through the latest-vN.x link too, with their length", async () => {
    const direct = await fetch(`${server.url}/v24.1.2/SHASUMS256.txt`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get("content-length")).toBe("35");
    expect(await direct.text()).toContain("node-v24.1.2-linux-x64.tar.xz");
    const latest = await fetch(`${server.url}/latest-v24.x/SHASUMS256.txt`);
    expect(latest.status).toBe(200);
    const head = await fetch(`${server.url}/v24.1.2/SHASUMS256.txt`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("answers 404 for directories, missing files, other methods and paths outside the mirror", async () => {
    expect((await fetch(`${server.url}/v24.1.2/`)).status).toBe(404);
    expect((await fetch(`${server.url}/v24.9.9/SHASUMS256.txt`)).status).toBe(404);
    expect((await fetch(`${server.url}/v24.1.2/SHASUMS256.txt`, { method: "POST" })).status).toBe(404);
    // `..%2f` survives URL normalization and decodes to `../` on the server.
    expect((await fetch(`${server.url}/..%2foutside-the-mirror.txt`)).status).toBe(404);
  });

  it("records what was fetched (the rehearsal checks the server used the mirror)", () => {
    expect(server.requests).toContainEqual({ path: "/latest-v24.x/SHASUMS256.txt", status: 200 });
    expect(server.requests).toContainEqual({ path: "/v24.9.9/SHASUMS256.txt", status: 404 });
  });
});

describe("rehearsal cleanup", () => {
  it("undoes in reverse order, once, and keeps going when one action fails", async () => {
    const done: string[] = [];
    const cleanup = new Cleanup();
    cleanup.add("first", () => void done.push("first"));
    cleanup.add("broken", () => {
      throw new Error("cannot undo");
    });
    cleanup.add("last", async () => void done.push("last"));
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      await Promise.all([cleanup.runAll(), cleanup.runAll()]);
    } finally {
      process.stderr.write = stderr;
    }
    expect(done).toEqual(["last", "first"]);
  });
});

describe("rehearsal image cache key", () => {
  it("changes with the recipe, so a changed recipe never reuses a stale image", () => {
    expect(rootfsKey(debian12)).toMatch(/^[0-9a-f]{12}$/);
    expect(rootfsKey(debian12)).toBe(rootfsKey({ ...debian12 }));
    expect(rootfsKey({ ...debian12, imagePackages: [...debian12.imagePackages, "vim"] })).not.toBe(rootfsKey(debian12));
  });
});

describe("rehearsal release variants", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "variants-test-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("builds a second release and a broken one with the release builder, each with its own hash", async () => {
    const bundle = join(dir, "bundle");
    mkdirSync(bundle);
    writeFileSync(join(bundle, "server.mjs"), 'console.log("serving");\n');
    writeFileSync(join(bundle, "migrate.mjs"), 'console.log("migrating");\n');
    const quiet = () => undefined;
    const base = await buildRelease({ bundleDir: bundle, outDir: join(dir, "out"), log: quiet });

    const second = await variantRelease(base, join(dir, "variants"), "second", quiet);
    const broken = await variantRelease(base, join(dir, "variants"), "exits-at-start", quiet);
    expect(new Set([base.hash, second.hash, broken.hash]).size).toBe(3);

    const unpack = (path: string) => {
      const target = mkdtempSync(join(dir, "unpacked-"));
      execFileSync("tar", ["-xzf", path, "-C", target]);
      return target;
    };
    const secondTree = unpack(second.path);
    expect(readFileSync(join(secondTree, "RELEASE"), "utf8").trim()).toBe(second.hash);
    expect(readFileSync(join(secondTree, "server.mjs"), "utf8")).toMatch(
      /^console\.log\("serving"\);\n[\s\S]*second release/,
    );
    expect(readFileSync(join(secondTree, "migrate.mjs"), "utf8")).toBe('console.log("migrating");\n');

    const brokenTree = unpack(broken.path);
    expect(readFileSync(join(brokenTree, "RELEASE"), "utf8").trim()).toBe(broken.hash);
    expect(readFileSync(join(brokenTree, "migrate.mjs"), "utf8")).toBe('console.log("migrating");\n');
    const started = spawnSync(process.execPath, [join(brokenTree, "server.mjs")], { encoding: "utf8" });
    expect(started.status).toBe(1);
  });
});

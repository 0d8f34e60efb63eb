import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderedFiles, runAsync, variants, SHELL_LIBRARY_ENV } from "./helpers.js";

/**
 * The env file is read, changed and rewritten by `todo-release set-env`; todo-setup and the deploy
 * step both write through it, sometimes at the same time. Without the release lock, 30 concurrent
 * writers of different keys kept 7 of them; with it, every one.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-release-locks-"));
const envFile = join(dir, "env");
const releaseCmd = join(dir, "todo-release");

const setEnv = (key: string, value: string) =>
  runAsync("bash", [releaseCmd, "set-env", key], {
    input: value,
    env: {
      PATH: process.env.PATH,
      ...SHELL_LIBRARY_ENV,
      TODO_HOST_CONF: join(dir, "host.conf"),
      TODO_ENV_FILE: envFile,
      TODO_ENV_OWNER: "",
      TODO_LOCK_FILE: join(dir, "release.lock"),
      TODO_CLOUD_INIT: join(dir, "no-cloud-init"),
    },
  });

beforeAll(() => {
  const files = renderedFiles(variants["local, no domain"]!);
  writeFileSync(releaseCmd, files.get("/usr/local/sbin/todo-release")!.content);
  chmodSync(releaseCmd, 0o755);
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
  writeFileSync(envFile, "NODE_ENV=production\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("todo-release set-env under the release lock", () => {
  it("30 concurrent writers of different keys: all 30 keys are kept, and what was there before", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `KEY_${i}`);
    const results = await Promise.all(keys.map((key) => setEnv(key, `value-${key}`)));
    for (const r of results) expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(envFile, "utf8").trim().split("\n").sort();
    expect(lines).toEqual(["NODE_ENV=production", ...keys.map((k) => `${k}=value-${k}`)].sort());
  });
});

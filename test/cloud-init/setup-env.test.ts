import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderedFiles, run, variants, SHELL_LIBRARY_ENV } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const openssl = requireTool("openssl");

/** `todo-setup env`: the app's environment and its secrets, generated on the server, once. */
const dir = mkdtempSync(join(tmpdir(), "setup-env-"));
const envFile = join(dir, "env");
const env = () => ({
  PATH: process.env.PATH,
  ...SHELL_LIBRARY_ENV,
  TODO_HOST_CONF: join(dir, "host.conf"),
  TODO_ENV_FILE: envFile,
  TODO_ENV_OWNER: "",
  TODO_RELEASE_CMD: join(dir, "todo-release"),
  TODO_NO_WAIT: "1",
});
const readEnv = () =>
  Object.fromEntries(
    readFileSync(envFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

beforeAll(() => {
  const files = renderedFiles(variants["local, no domain"]!);
  for (const name of ["todo-setup", "todo-release"]) {
    writeFileSync(join(dir, name), files.get(`/usr/local/sbin/${name}`)!.content);
    chmodSync(join(dir, name), 0o755);
  }
  writeFileSync(join(dir, "host.conf"), files.get("/etc/todo-host.conf")!.content);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(openssl.missing)("todo-setup env", () => {
  let first: Record<string, string>;

  it("writes the production settings and a generated JWT secret, readable only by owner and group", () => {
    const r = run("bash", [join(dir, "todo-setup"), "env"], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    first = readEnv();
    expect(first).toMatchObject({
      NODE_ENV: "production",
      TRUSTED_PROXIES: "127.0.0.1",
      DATA_DIR: "/var/lib/todo-api",
    });
    expect(first.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stdout + r.stderr).not.toContain(first.JWT_SECRET);
    expect(statSync(envFile).mode & 0o777).toBe(0o640);
  });

  it("changes nothing when run again, and keeps values set since", () => {
    const custom = run("bash", [join(dir, "todo-release"), "set-env", "TRUSTED_PROXIES"], {
      env: env(),
      input: "127.0.0.1,10.0.0.0/8",
    });
    expect(custom.status).toBe(0);
    const before = readFileSync(envFile, "utf8");
    const r = run("bash", [join(dir, "todo-setup"), "env"], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(envFile, "utf8")).toBe(before);
    expect(readEnv().JWT_SECRET).toBe(first.JWT_SECRET);
    expect(readEnv().TRUSTED_PROXIES).toBe("127.0.0.1,10.0.0.0/8");
  });

  it("names the API's public URL (for the OpenAPI document's servers) when the stack has a domain", () => {
    expect(first.PUBLIC_URL).toBeUndefined();
    const conf = readFileSync(join(dir, "host.conf"), "utf8");
    writeFileSync(join(dir, "host.conf"), conf.replace(/^DOMAIN=.*$/m, "DOMAIN='api.example.com'"));
    try {
      const r = run("bash", [join(dir, "todo-setup"), "env"], { env: env() });
      expect(r.status, r.stderr).toBe(0);
      expect(readEnv().PUBLIC_URL).toBe("https://api.example.com");
      expect(readEnv().JWT_SECRET).toBe(first.JWT_SECRET);
    } finally {
      writeFileSync(join(dir, "host.conf"), conf);
    }
  });

  it("refuses an unknown step", () => {
    const r = run("bash", [join(dir, "todo-setup"), "bogus"], { env: env() });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown step 'bogus'");
  });
});

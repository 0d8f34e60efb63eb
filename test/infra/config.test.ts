import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StackConfigError, loadStackConfig, parseStackConfig } from "../../infra/config/load.js";
import { RDS, TEST_PUBLIC_KEY, baseEnvironment, projectRoot } from "./synth-helpers.js";

const source = "/somewhere/stack.config.json";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): StackConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StackConfigError) return err;
    throw err;
  }
  throw new Error("expected a StackConfigError");
}

describe("stack configuration", () => {
  it("the committed example is valid (given a public key) and defines dev and prod", () => {
    const cfg = loadStackConfig({
      cwd: mkdtempWith({}),
      env: {
        TODO_STACK_CONFIG: path.join(projectRoot, "stack.config.example.json"),
        TODO_SSH_PUBLIC_KEY: TEST_PUBLIC_KEY,
      },
    });
    expect(cfg.environments.map((e) => e.name)).toEqual(["dev", "prod"]);
    const [dev, prod] = cfg.environments;
    expect(dev!.database).toEqual({ mode: "local" });
    expect(prod!.database.mode).toBe("rds");
    expect(dev!.ssh.allowWorldSsh).toBe(false);
    expect(dev!.tags).toEqual({ project: "todo-api", environment: "dev" });
  });

  it("uses stack.config.json when present, else the example", () => {
    const dir = mkdtempWith({ "stack.config.json": { environments: { solo: baseEnvironment() } } });
    const own = loadStackConfig({ cwd: dir, env: {} });
    expect(own.isExample).toBe(false);
    expect(own.environments.map((e) => e.name)).toEqual(["solo"]);
    const fallback = loadStackConfig({
      cwd: projectRootWithoutOwnConfig(),
      env: { TODO_SSH_PUBLIC_KEY: TEST_PUBLIC_KEY },
    });
    expect(fallback.isExample).toBe(true);
  });

  it("lists every problem in one message, with paths and what to do", () => {
    const err = errorOf(() =>
      parseStackConfig(
        {
          environments: {
            dev: baseEnvironment({
              instanceType: "c3i.large",
              ssh: { publicKey: TEST_PUBLIC_KEY, adminCidrs: ["0.0.0.0/0", "10.0.0.300/32"] },
              https: { domain: "https://api.example.com" },
              database: { ...RDS, storageGb: 25 },
              colour: "blue",
            }),
            prod: baseEnvironment({ ssh: { publicKey: TEST_PUBLIC_KEY, adminCidrs: [] } }),
          },
        },
        { source },
      ),
    );
    expect(err.problems).toEqual([
      'environments.dev.instanceType: must be an ECS instance type such as "ecs.c3i.large"',
      'environments.dev.ssh.adminCidrs.1: must be an IPv4 CIDR such as "203.0.113.7/32" (your public IP followed by /32)',
      'environments.dev.ssh.adminCidrs.0: "0.0.0.0/0" opens SSH to the whole Internet; use your own IP/32, or set ssh.allowWorldSsh: true if you really mean it',
      'environments.dev.https.domain: must be a fully qualified domain name such as "api.example.com" (no scheme, no path)',
      "environments.dev.https.acmeEmail: must be an e-mail address for Let's Encrypt expiry notices",
      "environments.dev.database.storageGb: must be a multiple of 10",
      "environments.dev.colour: unknown setting (check the spelling against stack.config.example.json)",
      "environments.prod.ssh.adminCidrs: list at least one CIDR allowed to SSH, e.g. your public IP + /32",
    ]);
    expect(err.message.split("\n")[0]).toBe(`Invalid stack configuration (${source}): 8 problems`);
    expect(err.message).toContain("  - environments.prod.ssh.adminCidrs: list at least one CIDR");
  });

  it("requires admin CIDRs and refuses a world-open SSH unless explicitly allowed", () => {
    const missing = errorOf(() =>
      parseStackConfig({ environments: { dev: baseEnvironment({ ssh: { publicKey: TEST_PUBLIC_KEY } }) } }, { source }),
    );
    expect(missing.problems).toEqual([
      "environments.dev.ssh.adminCidrs: is required (a list); see stack.config.example.json",
    ]);
    const allowed = parseStackConfig(
      {
        environments: {
          dev: baseEnvironment({ ssh: { publicKey: TEST_PUBLIC_KEY, adminCidrs: ["0.0.0.0/0"], allowWorldSsh: true } }),
        },
      },
      { source },
    );
    expect(allowed.environments[0]!.ssh.adminCidrs).toEqual(["0.0.0.0/0"]);
  });

  it("rejects malformed files and file-level mistakes", () => {
    expect(errorOf(() => parseStackConfig({ environments: {} }, { source })).problems).toEqual([
      'environments: define at least one environment, e.g. "dev": {}',
    ]);
    expect(errorOf(() => parseStackConfig({ environments: { Prod: {} }, stat: {} }, { source })).problems).toEqual([
      'environments.Prod: environment name: lowercase letters, digits and "-", starting with a letter, at most 21 characters',
      "stat: unknown setting (check the spelling against stack.config.example.json)",
    ]);
    const dir = mkdtempWith({});
    writeFileSync(path.join(dir, "stack.config.json"), "{ not json");
    expect(errorOf(() => loadStackConfig({ cwd: dir, env: {} })).problems[0]).toMatch(
      /^stack\.config\.json: cannot read it as JSON: /,
    );
  });

  it("merges environments over defaults, replacing image/database/https whole", () => {
    const cfg = parseStackConfig(
      {
        defaults: baseEnvironment({ database: RDS, tags: { team: "mobile" } }),
        environments: {
          dev: { database: { mode: "local" }, image: { id: "image-abc123" }, tags: { env: "dev" } },
          prod: {},
        },
      },
      { source },
    );
    const [dev, prod] = cfg.environments;
    expect(dev!.database).toEqual({ mode: "local" });
    expect(dev!.image).toEqual({ id: "image-abc123" });
    expect(dev!.tags).toEqual({ team: "mobile", env: "dev" });
    expect(prod!.database).toMatchObject({ mode: "rds", storageGb: 20, databaseName: "todo", username: "todo_app" });
  });

  it("applies TODO_* environment overrides and names them in errors", () => {
    const cfg = parseStackConfig(
      { environments: { dev: baseEnvironment(), prod: baseEnvironment() } },
      {
        source,
        env: {
          TODO_ADMIN_CIDRS: "192.0.2.1/32, 192.0.2.2/32",
          TODO_ENVIRONMENTS: "prod",
          TODO_IMAGE_ID: "image-xyz9",
          TODO_NODE_MIRROR: "https://npmmirror.com/mirrors/node",
        },
      },
    );
    expect(cfg.environments.map((e) => e.name)).toEqual(["prod"]);
    expect(cfg.environments[0]!.ssh.adminCidrs).toEqual(["192.0.2.1/32", "192.0.2.2/32"]);
    expect(cfg.environments[0]!.image).toEqual({ id: "image-xyz9" });
    expect(cfg.environments[0]!.nodeMirror).toBe("https://npmmirror.com/mirrors/node");

    const err = errorOf(() =>
      parseStackConfig(
        { environments: { dev: baseEnvironment() } },
        { source, env: { TODO_ADMIN_CIDRS: "0.0.0.0/0", TODO_ENVIRONMENTS: "dev,qa" } },
      ),
    );
    expect(err.problems).toEqual([
      'TODO_ENVIRONMENTS: "qa" is not an environment of the file (have: dev)',
      'environments.dev.ssh.adminCidrs.0: "0.0.0.0/0" opens SSH to the whole Internet; use your own IP/32, or set ssh.allowWorldSsh: true if you really mean it (value from TODO_ADMIN_CIDRS)',
    ]);
  });

  it("reads the public key from a file and reports a missing or wrong one", () => {
    const dir = mkdtempWith({});
    writeFileSync(path.join(dir, "id.pub"), `${TEST_PUBLIC_KEY}\n`);
    writeFileSync(path.join(dir, "id"), "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n");
    const ssh = (publicKeyPath: string) => ({ publicKeyPath, adminCidrs: ["192.0.2.1/32"] });
    const ok = parseStackConfig(
      { environments: { dev: baseEnvironment({ ssh: ssh("id.pub") }) } },
      { source: path.join(dir, "stack.config.json") },
    );
    expect(ok.environments[0]!.ssh.publicKey).toBe(TEST_PUBLIC_KEY);
    const err = errorOf(() =>
      parseStackConfig(
        {
          environments: {
            a: baseEnvironment({ ssh: ssh("missing.pub") }),
            b: baseEnvironment({ ssh: ssh("id") }),
            c: baseEnvironment({ ssh: { adminCidrs: ["192.0.2.1/32"] } }),
          },
        },
        { source: path.join(dir, "stack.config.json") },
      ),
    );
    expect(err.problems).toHaveLength(3);
    // A missing key file is reported together with the other problems of the same environment.
    const both = errorOf(() =>
      parseStackConfig(
        {
          environments: {
            a: baseEnvironment({
              instanceType: "big",
              ssh: { publicKeyPath: "missing.pub", adminCidrs: ["0.0.0.0/0"] },
            }),
          },
        },
        { source: path.join(dir, "stack.config.json") },
      ),
    );
    expect(both.problems.map((p) => p.split(":")[0])).toEqual([
      "environments.a.ssh.publicKeyPath",
      "environments.a.instanceType",
      "environments.a.ssh.adminCidrs.0",
    ]);
    expect(err.problems[0]).toMatch(
      /^environments\.a\.ssh\.publicKeyPath: cannot read ".*missing\.pub"; create a key with `ssh-keygen -t ed25519`/,
    );
    expect(err.problems[1]).toMatch(
      /^environments\.b\.ssh\.publicKeyPath: ".*\/id" must be one OpenSSH public key line/,
    );
    expect(err.problems[2]).toBe(
      "environments.c.ssh.publicKeyPath: set exactly one of ssh.publicKey (the key text) or ssh.publicKeyPath (e.g. ~/.ssh/id_ed25519.pub)",
    );
  });

  it("makes a relative private key path absolute and keeps ~/ for Terraform to expand", () => {
    const env = (privateKeyPath: string) =>
      baseEnvironment({ ssh: { publicKey: TEST_PUBLIC_KEY, privateKeyPath, adminCidrs: ["192.0.2.1/32"] } });
    const cfg = parseStackConfig(
      { environments: { a: env("keys/id"), b: env("~/.ssh/id") } },
      { source: "/home/me/proj/stack.config.json" },
    );
    expect(cfg.environments[0]!.ssh.privateKeyPath).toBe("/home/me/proj/keys/id");
    expect(cfg.environments[1]!.ssh.privateKeyPath).toBe("~/.ssh/id");
    const bad = errorOf(() => parseStackConfig({ environments: { a: env('x"${file("/etc/passwd")}') } }, { source }));
    expect(bad.problems).toEqual([
      'environments.a.ssh.privateKeyPath: must not contain quotes, backslashes, "${" or "%{"',
    ]);
  });
});

function mkdtempWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "todo-stack-config-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), JSON.stringify(content));
  return dir;
}

/** A directory holding only a copy of the example (no stack.config.json). */
function projectRootWithoutOwnConfig(): string {
  const dir = mkdtempWith({});
  writeFileSync(path.join(dir, "stack.config.example.json"), JSON.stringify(exampleConfig()));
  return dir;
}

function exampleConfig(): unknown {
  return JSON.parse(readFileSync(path.join(projectRoot, "stack.config.example.json"), "utf8"));
}

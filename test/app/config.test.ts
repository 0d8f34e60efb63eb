import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../app/config.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "todo-api-config-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const SECRET = "s".repeat(32);

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ DATA_DIR: tempDir() });
    expect(c).toMatchObject({
      env: "development",
      host: "127.0.0.1",
      port: 3000,
      bcryptCost: 12,
      rateLimitPerMinute: 10,
      refreshTokenTtlDays: 30,
      trustedProxies: [],
      corsOrigins: [],
      logLevel: "info",
      migrateOnStart: true,
    });
    expect(c.jwt.accessTokenTtlSeconds).toBe(900);
    expect(c.database.kind).toBe("pglite");
  });

  it("does not migrate at start-up in production unless told to (servers migrate once per release)", () => {
    const prod = {
      NODE_ENV: "production",
      DATABASE_URL: "postgres://u:p@db:5432/todo",
      JWT_SECRET: SECRET,
      DATA_DIR: tempDir(),
    };
    expect(loadConfig(prod).migrateOnStart).toBe(false);
    expect(loadConfig({ ...prod, MIGRATE_ON_START: "true" }).migrateOnStart).toBe(true);
    expect(loadConfig({ JWT_SECRET: SECRET, NODE_ENV: "test", DATA_DIR: tempDir() }).migrateOnStart).toBe(true);
  });

  it("uses PostgreSQL with the configured pool size when DATABASE_URL is set", () => {
    const c = loadConfig({ DATABASE_URL: "postgres://u:p@db:5432/todo", DATABASE_POOL_SIZE: "25", JWT_SECRET: SECRET });
    expect(c.database).toEqual({ kind: "postgres", url: "postgres://u:p@db:5432/todo", poolSize: 25 });
  });

  it("parses lists and booleans", () => {
    const c = loadConfig({
      JWT_SECRET: SECRET,
      TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8,::1",
      CORS_ORIGINS: "https://a.example.com,http://localhost:5173",
      MIGRATE_ON_START: "false",
      DATA_DIR: tempDir(),
    });
    expect(c.trustedProxies).toEqual(["127.0.0.1", "10.0.0.0/8", "::1"]);
    expect(c.corsOrigins).toEqual(["https://a.example.com", "http://localhost:5173"]);
    expect(c.migrateOnStart).toBe(false);
  });

  it("PUBLIC_URL: an origin for the OpenAPI document's servers; unset by default; a path is refused", () => {
    expect(loadConfig({ DATA_DIR: tempDir() }).publicUrl).toBeUndefined();
    expect(loadConfig({ DATA_DIR: tempDir(), PUBLIC_URL: "https://api.example.com" }).publicUrl).toBe(
      "https://api.example.com",
    );
    expect(() => loadConfig({ DATA_DIR: tempDir(), PUBLIC_URL: "https://api.example.com/v1" })).toThrow(
      /PUBLIC_URL: must be an origin/,
    );
  });

  it("generates a development JWT secret once, keeps it in DATA_DIR (0600) and reuses it", () => {
    const dir = tempDir();
    const first = loadConfig({ DATA_DIR: dir });
    const second = loadConfig({ DATA_DIR: dir });
    expect(first.jwt.secretSource).toBe("generated");
    expect(Buffer.from(first.jwt.secret).length).toBeGreaterThanOrEqual(32);
    expect(Buffer.from(second.jwt.secret).equals(Buffer.from(first.jwt.secret))).toBe(true);
    const file = join(dir, "jwt-secret");
    expect(readFileSync(file, "utf8").trim().length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const other = loadConfig({ DATA_DIR: tempDir() });
    expect(Buffer.from(other.jwt.secret).equals(Buffer.from(first.jwt.secret))).toBe(false);
  });

  it("in production refuses a missing DATABASE_URL and a missing JWT secret, both in one message", () => {
    let message = "";
    try {
      loadConfig({ NODE_ENV: "production" });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/2 problems/);
    expect(message).toContain("DATABASE_URL: required when NODE_ENV=production");
    expect(message).toContain("JWT_SECRET: required when NODE_ENV=production");
    expect(message).toContain("openssl rand");
  });

  it("refuses a JWT secret shorter than 32 bytes (in any environment) and never echoes it", () => {
    const p = problems({ NODE_ENV: "production", DATABASE_URL: "postgres://db/todo", JWT_SECRET: "tooshort-secret" });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain("JWT_SECRET: must be at least 32 bytes");
    expect(p.join()).not.toContain("tooshort-secret");
    expect(problems({ JWT_SECRET: "x".repeat(31), DATA_DIR: tempDir() })).toHaveLength(1);
    expect(() =>
      loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgres://db/todo", JWT_SECRET: SECRET }),
    ).not.toThrow();
  });

  it("lists every problem at once with a hint how to fix it", () => {
    const p = problems({
      NODE_ENV: "staging",
      PORT: "eighty",
      DATABASE_URL: "mysql://db",
      DATABASE_POOL_SIZE: "0",
      BCRYPT_COST: "40",
      RATE_LIMIT_PER_MINUTE: "-1",
      TRUSTED_PROXIES: "localhost",
      CORS_ORIGINS: "https://ok.example.com/path",
      LOG_LEVEL: "loud",
      MIGRATE_ON_START: "maybe",
      ACCESS_TOKEN_TTL_SECONDS: "1.5",
    });
    const keys = p.map((line) => line.split(":")[0]).sort();
    expect(keys).toEqual(
      [
        "ACCESS_TOKEN_TTL_SECONDS",
        "BCRYPT_COST",
        "CORS_ORIGINS",
        "DATABASE_POOL_SIZE",
        "DATABASE_URL",
        "LOG_LEVEL",
        "MIGRATE_ON_START",
        "NODE_ENV",
        "PORT",
        "RATE_LIMIT_PER_MINUTE",
        "TRUSTED_PROXIES",
      ].sort(),
    );
    expect(p.find((l) => l.startsWith("PORT"))).toContain('got "eighty"');
    expect(p.find((l) => l.startsWith("DATABASE_URL"))).not.toContain("mysql://db");
  });

  it("treats empty values as unset", () => {
    const c = loadConfig({ PORT: "", DATABASE_URL: "", CORS_ORIGINS: "", DATA_DIR: tempDir() });
    expect(c.port).toBe(3000);
    expect(c.database.kind).toBe("pglite");
  });
});

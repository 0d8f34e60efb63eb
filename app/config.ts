import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { boolean, int, isAddressOrCidr, list } from "./config-parsers.js";
import { type FilesConfig, filesConfig, filesEnv, filesHints, REQUIRED_FOR_TOS } from "./files/settings.js";

export { DEFAULT_ALLOWED_TYPES, type FileLimits, type FilesConfig } from "./files/settings.js";

/**
 * The one place the process reads its environment. Everything else receives a typed `Config`.
 * Bad or missing settings stop the process with one message listing every problem.
 */

const envSchema = z.object({
  NODE_ENV: z
    .enum(["development", "production", "test"], { message: "must be development, production or test" })
    .default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(0, 65535).default(3000),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: "must be a postgres:// or postgresql:// URL" })
    .optional(),
  DATABASE_POOL_SIZE: int(1, 1000).default(10),
  DATA_DIR: z.string().min(1).default(".data"),
  JWT_SECRET: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default("todo-api"),
  JWT_AUDIENCE: z.string().min(1).default("todo-api-clients"),
  ACCESS_TOKEN_TTL_SECONDS: int(30, 86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: int(1, 365).default(30),
  BCRYPT_COST: int(4, 15).default(12),
  RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(10),
  PASSWORD_RATE_LIMIT_PER_MINUTE: int(1, 100_000).default(10),
  ACCOUNT_RATE_LIMIT_PER_MINUTE: int(1, 1_000_000).default(60_000),
  ACCOUNT_MAX_IN_FLIGHT: int(1, 1000).optional(),
  ACCOUNT_MAX_QUEUED: int(0, 10_000).default(64),
  SYNC_RETENTION_DAYS: int(1, 3650).default(30),
  REFRESH_REUSE_GRACE_SECONDS: int(0, 3600).default(30),
  SMTP_URL: z
    .string()
    .refine((v) => /^smtps?:\/\/[^\s/]+/.test(v), { message: "must be an smtp:// or smtps:// URL" })
    .optional(),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  TRUSTED_PROXIES: list
    .pipe(
      z.array(
        z.string().refine(isAddressOrCidr, {
          message: "each entry must be an IP address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)",
        }),
      ),
    )
    .default([]),
  CORS_ORIGINS: list
    .pipe(
      z.array(
        z.string().refine((o) => o === "*" || /^https?:\/\/[^/\s]+$/.test(o), {
          message: "each entry must be an origin like https://app.example.com (no path)",
        }),
      ),
    )
    .default([]),
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s?#]+$/, { message: "must be an origin like https://api.example.com (no path)" })
    .optional(),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  // default: true, except in production, where `migrate up` is a release step (todo-release deploy)
  MIGRATE_ON_START: boolean.optional(),
  ...filesEnv,
});

/** How to fix each setting, shown next to its problem. */
const hints: Record<string, string> = {
  NODE_ENV: "set NODE_ENV=production on servers, development locally",
  PORT: "e.g. PORT=3000",
  DATABASE_URL: "e.g. DATABASE_URL=postgres://todo:secret@127.0.0.1:5432/todo",
  DATABASE_POOL_SIZE: "e.g. DATABASE_POOL_SIZE=10",
  JWT_SECRET: "generate one with: openssl rand -base64 48",
  ACCESS_TOKEN_TTL_SECONDS: "e.g. ACCESS_TOKEN_TTL_SECONDS=900 (15 minutes)",
  REFRESH_TOKEN_TTL_DAYS: "e.g. REFRESH_TOKEN_TTL_DAYS=30",
  BCRYPT_COST: "12 in production; 4 only in tests",
  RATE_LIMIT_PER_MINUTE: "e.g. RATE_LIMIT_PER_MINUTE=10",
  PASSWORD_RATE_LIMIT_PER_MINUTE: "e.g. PASSWORD_RATE_LIMIT_PER_MINUTE=10",
  ACCOUNT_RATE_LIMIT_PER_MINUTE:
    "e.g. ACCOUNT_RATE_LIMIT_PER_MINUTE=600 (requests of one account per minute, per app process; the default 60000 only stops a runaway client)",
  ACCOUNT_MAX_IN_FLIGHT: "e.g. ACCOUNT_MAX_IN_FLIGHT=4 (default: half of DATABASE_POOL_SIZE, at least 1)",
  ACCOUNT_MAX_QUEUED: "e.g. ACCOUNT_MAX_QUEUED=64 (requests of one account waiting for a turn)",
  SYNC_RETENTION_DAYS: "e.g. SYNC_RETENTION_DAYS=30 (how long deletions stay visible to delta sync)",
  REFRESH_REUSE_GRACE_SECONDS: "e.g. REFRESH_REUSE_GRACE_SECONDS=30 (0 turns the grace window off)",
  SMTP_URL: "e.g. SMTP_URL=smtps://user:password@smtp.example.com:465 (or smtp://…:587 with STARTTLS)",
  MAIL_FROM: 'e.g. MAIL_FROM="Todo <no-reply@example.com>"',
  TRUSTED_PROXIES: "e.g. TRUSTED_PROXIES=127.0.0.1 when behind a local Nginx",
  CORS_ORIGINS: "e.g. CORS_ORIGINS=https://app.example.com,https://admin.example.com",
  MIGRATE_ON_START: "true or false",
  ...filesHints,
  PUBLIC_URL:
    "e.g. PUBLIC_URL=https://api.example.com (the URL apps reach the API at; servers set it from https.domain)",
};

export interface Config {
  env: "development" | "production" | "test";
  host: string;
  port: number;
  database: { kind: "postgres"; url: string; poolSize: number } | { kind: "pglite"; dataDir: string };
  dataDir: string;
  jwt: {
    secret: Uint8Array;
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    secretSource: "env" | "generated";
  };
  refreshTokenTtlDays: number;
  bcryptCost: number;
  rateLimitPerMinute: number;
  /** Password checks of a signed-in user (PUT /users/me/password, e-mail change) per user per minute. */
  passwordRateLimitPerMinute: number;
  /** One account's share of the process (services/account-share.ts): every authenticated route. */
  accountShare: { perMinute: number; maxInFlight: number; maxQueued: number; queueTimeoutMs: number };
  syncRetentionDays: number;
  refreshReuseGraceSeconds: number;
  /**
   * Account mail (password reset, e-mail verification): SMTP when SMTP_URL is set; else logged in
   * development and test, and unavailable in production (those routes answer 503).
   */
  mail: { kind: "smtp"; url: string; from: string } | { kind: "log" } | { kind: "none" };
  trustedProxies: string[];
  corsOrigins: string[];
  /**
   * The origin apps reach the API at (PUBLIC_URL), for `servers` in the OpenAPI document; unset:
   * the document names its own origin relatively.
   */
  publicUrl?: string | undefined;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  migrateOnStart: boolean;
  /** Attachments on todos (docs/app.md#files): where their bytes live, and the limits. */
  files: FilesConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nSet these environment variables (on servers: /etc/todo-api/env) and start again.",
    );
    this.name = "ConfigError";
  }
}

const MIN_SECRET_BYTES = 32;
const SECRET_FILE = "jwt-secret";
/** The local file store's URL-signing key (FILES_STORAGE=local), kept like the JWT secret. */
const FILES_KEY_FILE = "files-signing-key";

/**
 * Reads, validates and returns the configuration. Throws ConfigError listing every problem.
 * In development without JWT_SECRET a random secret is generated once and kept in DATA_DIR.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Treat empty strings as unset: `FOO=` in an env file means "not configured".
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "?");
      const value =
        key === "JWT_SECRET" || key === "DATABASE_URL" || key === "SMTP_URL"
          ? ""
          : env[key] !== undefined
            ? ` (got "${env[key]}")`
            : "";
      problems.push(`${key}: ${issue.message}${value}${hints[key] ? ` — ${hints[key]}` : ""}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const nodeEnv = e?.NODE_ENV ?? (env.NODE_ENV as Config["env"] | undefined);
  const secret = env.JWT_SECRET;
  if (secret !== undefined && Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES) {
    problems.push(`JWT_SECRET: must be at least ${MIN_SECRET_BYTES} bytes — ${hints.JWT_SECRET}`);
  }
  if (nodeEnv === "production") {
    if (env.DATABASE_URL === undefined) {
      problems.push(
        `DATABASE_URL: required when NODE_ENV=production (the embedded database is for development only) — ${hints.DATABASE_URL}`,
      );
    }
    if (secret === undefined) {
      problems.push(`JWT_SECRET: required when NODE_ENV=production — ${hints.JWT_SECRET}`);
    }
  }
  if (env.SMTP_URL !== undefined && env.MAIL_FROM === undefined) {
    problems.push(`MAIL_FROM: required when SMTP_URL is set — ${hints.MAIL_FROM}`);
  }
  const storage = e?.FILES_STORAGE ?? (env.DATABASE_URL === undefined ? "local" : "off");
  if (storage === "tos") {
    for (const key of REQUIRED_FOR_TOS) {
      if (env[key] === undefined) problems.push(`${key}: required when FILES_STORAGE=tos — ${hints[key]}`);
    }
  }
  if (problems.length > 0 || !e) throw new ConfigError(problems);

  const dataDir = resolve(e.DATA_DIR);
  const jwtSecret = secret ?? loadOrCreateDevSecret(dataDir, SECRET_FILE);
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE }
      : { kind: "pglite", dataDir: join(dataDir, "pglite") },
    dataDir,
    jwt: {
      secret: new TextEncoder().encode(jwtSecret),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      secretSource: secret ? "env" : "generated",
    },
    refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    bcryptCost: e.BCRYPT_COST,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    passwordRateLimitPerMinute: e.PASSWORD_RATE_LIMIT_PER_MINUTE,
    accountShare: {
      perMinute: e.ACCOUNT_RATE_LIMIT_PER_MINUTE,
      // Half the pool: one account can never hold every connection, whatever it sends.
      maxInFlight: e.ACCOUNT_MAX_IN_FLIGHT ?? Math.max(1, Math.floor(e.DATABASE_POOL_SIZE / 2)),
      maxQueued: e.ACCOUNT_MAX_QUEUED,
      queueTimeoutMs: 10_000,
    },
    syncRetentionDays: e.SYNC_RETENTION_DAYS,
    refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    mail:
      e.SMTP_URL && e.MAIL_FROM
        ? { kind: "smtp", url: e.SMTP_URL, from: e.MAIL_FROM }
        : e.NODE_ENV === "production"
          ? { kind: "none" }
          : { kind: "log" },
    trustedProxies: e.TRUSTED_PROXIES,
    corsOrigins: e.CORS_ORIGINS,
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    migrateOnStart: e.MIGRATE_ON_START ?? e.NODE_ENV !== "production",
    files: filesConfig(e, storage, dataDir, () => loadOrCreateDevSecret(dataDir, FILES_KEY_FILE)),
  };
}

/** A development secret survives restarts (so tokens and URLs keep working) but never leaves DATA_DIR. */
function loadOrCreateDevSecret(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (Buffer.byteLength(existing) >= MIN_SECRET_BYTES) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const created = randomBytes(48).toString("base64url");
  writeFileSync(file, `${created}\n`, { mode: 0o600 });
  return created;
}

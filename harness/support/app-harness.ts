import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../app/config.js";
import type { DatabaseHandle } from "../../app/db/database.js";
import type { ObjectStore } from "../../app/files/object-store.js";
import { createLogger } from "../../app/logger.js";
import { TodoServer } from "../../app/server.js";

export const TEST_JWT_SECRET = "test-only-secret-0123456789abcdef0123456789abcdef";
export const TEST_ISSUER = "todo-api-test";
export const TEST_AUDIENCE = "todo-api-test-clients";

export interface TestApp {
  url: string;
  /** Its DATA_DIR (the local file store keeps its objects in DATA_DIR/files). */
  dataDir: string;
  server: TodoServer;
  /** Every log line the app wrote, raw JSON text. */
  logs: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** PostgreSQL URL; omitted → embedded PGlite in a temporary DATA_DIR. */
  databaseUrl?: string;
  env?: Record<string, string>;
  database?: DatabaseHandle;
  now?: () => number;
  mailQueueIntervalMs?: number;
  /** Instead of the store FILES_STORAGE names (e.g. a local store that fails on purpose). */
  fileStore?: ObjectStore;
  /** The file janitor's own interval (0: it runs only when poked or asked). */
  fileJanitorIntervalMs?: number;
}

/** The real server on 127.0.0.1 and a random free port, as `npm start` would run it. */
export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "todo-api-data-"));
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    BCRYPT_COST: "4",
    DATABASE_POOL_SIZE: "4",
    RATE_LIMIT_PER_MINUTE: "1000",
    LOG_LEVEL: "info",
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(line);
      cb();
    },
  });
  const logger = createLogger(config, sink);
  const server = await TodoServer.start(config, logger, {
    ...(options.database ? { database: options.database } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.mailQueueIntervalMs !== undefined ? { mailQueueIntervalMs: options.mailQueueIntervalMs } : {}),
    ...(options.fileStore ? { fileStore: options.fileStore } : {}),
    ...(options.fileJanitorIntervalMs !== undefined ? { fileJanitorIntervalMs: options.fileJanitorIntervalMs } : {}),
  });
  return {
    url: server.url,
    dataDir,
    server,
    logs,
    close: async () => {
      // no grace for idle kept-alive connections: tests close right after their last request
      await server.close({ idleGraceMs: 0 });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  json?: unknown;
  form?: Record<string, string>;
  body?: string | Uint8Array;
  token?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.json);
  } else if (options.form) {
    headers["content-type"] ??= "application/x-www-form-urlencoded";
    body = new URLSearchParams(options.form).toString();
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: body as NonNullable<Parameters<typeof fetch>[1]>["body"],
  });
  const text = await res.text();
  let parsed: unknown;
  if (text && (res.headers.get("content-type") ?? "").includes("json")) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A client bound to one app. */
/** A client of the server at `base`; a function is asked for the URL at every call (api-suite.ts). */
export function client(base: string | (() => string)) {
  const url = typeof base === "function" ? base : () => base;
  return {
    get: <T = any>(path: string, o?: CallOptions) => call<T>(url(), "GET", path, o),
    post: <T = any>(path: string, o?: CallOptions) => call<T>(url(), "POST", path, o),
    patch: <T = any>(path: string, o?: CallOptions) => call<T>(url(), "PATCH", path, o),
    put: <T = any>(path: string, o?: CallOptions) => call<T>(url(), "PUT", path, o),
    delete: <T = any>(path: string, o?: CallOptions) => call<T>(url(), "DELETE", path, o),
  };
}

export type Client = ReturnType<typeof client>;

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function freeClosedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function uniqueName(prefix = "user"): string {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

export interface Account {
  id: number;
  username: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

/** Registers a fresh user and logs in. */
export async function newAccount(api: Client, password = "correct horse battery"): Promise<Account> {
  const username = uniqueName();
  const email = `${username}@example.com`;
  const reg = await api.post("/api/v1/users", { json: { username, email, password } });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  const tok = await api.post("/api/v1/auth/token", { json: { username, password } });
  if (tok.status !== 200) throw new Error(`login failed: ${tok.status} ${tok.text}`);
  return { id: reg.body.id, username, email, password, access: tok.body.access_token, refresh: tok.body.refresh_token };
}

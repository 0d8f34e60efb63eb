import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from "kysely";
import pg from "pg";
import type { Config } from "../config.js";
import type { Database } from "./schema.js";

/** An open database: the query builder plus what operations need around it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: "postgres" | "pglite";
  /** Where the data lives, safe to print (no password). */
  location: string;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Called when an idle pooled connection dies (e.g. PostgreSQL restarted). */
  onPoolError?: (err: Error) => void;
}

const INT8_OID = 20;
// Ids and counts are bigint in SQL; as JSON numbers they are exact up to 2^53.
const parseInt8 = (value: string) => Number(value);

export async function openDatabase(config: Config["database"], options: OpenDatabaseOptions = {}): Promise<DatabaseHandle> {
  if (config.kind === "postgres") return openPostgres(config.url, config.poolSize, options);
  return openPGlite(config.dataDir);
}

function openPostgres(url: string, poolSize: number, options: OpenDatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast when PostgreSQL is unreachable so callers get 503 instead of hanging.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: "todo-api",
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener an idle client's error (server restart) would crash the process. The pool
  // discards that client and opens a fresh one on the next checkout, which is how we recover.
  pool.on("error", (err) => options.onPoolError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool, options.onPoolError) }) });
  return {
    db,
    kind: "postgres",
    location: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/**
 * Runs every parameterised query as a named prepared statement (name = hash of its SQL), so each
 * pooled connection parses and plans a statement once instead of on every request. The app has
 * a small fixed set of statements, so the per-connection statement cache stays small.
 */
function withPreparedStatements(pool: pg.Pool, onError?: (err: Error) => void): PostgresPool {
  const watched = new WeakSet<pg.PoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      // A checked-out client whose server goes away emits 'error' outside any query; unhandled,
      // that would crash the process. The broken client is dropped by the pool on release.
      if (!watched.has(client)) {
        watched.add(client);
        client.on("error", (err) => onError?.(err));
      }
      const query = (text: unknown, values?: unknown) =>
        typeof text === "string" && Array.isArray(values) && values.length > 0
          ? client.query({ name: statementName(text), text, values })
          : client.query(text as string, values as unknown[]);
      return { query: query as unknown as PostgresPoolClient["query"], release: (destroy?: boolean) => client.release(destroy) };
    },
    end: () => pool.end(),
  };
}

const statementNames = new Map<string, string>();
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `todo_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
    if (statementNames.size < 10_000) statementNames.set(text, name);
  }
  return name;
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  // Loaded only here: production bundles (which require DATABASE_URL) never need the WASM build.
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import("@electric-sql/pglite"), import("./pglite-dialect.js")]);
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  try {
    const pglite = await PGlite.create({ dataDir, parsers: { [INT8_OID]: parseInt8 } });
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    return {
      db,
      kind: "pglite",
      location: dataDir,
      ping: async () => {
        await sql`select 1`.execute(db);
      },
      close: async () => {
        try {
          await db.destroy();
        } finally {
          unlock();
        }
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}. Stop that process first ` +
        `(or give this one another DATA_DIR, or set DATABASE_URL to use PostgreSQL).`,
    );
    this.name = "DataDirInUseError";
  }
}

/**
 * PGlite is an in-process PostgreSQL: two processes opening one data folder would corrupt it.
 * A pid file next to the folder keeps it to one; a pid file of a dead process is stale and taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(lockFile, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw new DataDirInUseError(dataDir, owner);
      rmSync(lockFile, { force: true });
    }
  }
  return () => rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

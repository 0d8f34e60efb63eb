import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Config } from "../config.js";
import { pipelinedPostgresDialect } from "./pipelined-dialect.js";
import type { Database } from "./schema.js";

/** An open database: the query builder plus what operations need around it. */
export interface DatabaseHandle {
  db: Kysely<Database>;
  /**
   * The same database through connections held for a whole `connection()` session, for code that
   * needs session state (the migrator's advisory lock). `db` pipelines single statements.
   */
  sessionDb: Kysely<Database>;
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

export async function openDatabase(
  config: Config["database"],
  options: OpenDatabaseOptions = {},
): Promise<DatabaseHandle> {
  if (config.kind === "postgres") return openPostgres(config.url, config.poolSize, options);
  return openPGlite(config.dataDir);
}

/** Shared pipelined connections for single statements (see pipelinedPostgresDialect). */
const PIPELINES = 2;

function openPostgres(url: string, poolSize: number, options: OpenDatabaseOptions): DatabaseHandle {
  const settings: pg.ClientConfig = {
    connectionString: url,
    // Fail fast when PostgreSQL is unreachable so callers get 503 instead of hanging.
    connectionTimeoutMillis: 5_000,
    application_name: "todo-api",
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  };
  const pool = new pg.Pool({ ...settings, max: poolSize, idleTimeoutMillis: 30_000 });
  // Without a listener an idle client's error (server restart) would crash the process. The pool
  // discards that client and opens a fresh one on the next checkout, which is how we recover.
  pool.on("error", (err) => options.onPoolError?.(err));
  const dialect = pipelinedPostgresDialect({
    pool,
    openPipeline: () => new pg.Client({ ...settings, pipeline: true } as pg.ClientConfig),
    pipelines: Math.min(PIPELINES, poolSize),
    onError: options.onPoolError,
  });
  const db = new Kysely<Database>({ dialect });
  // Shares the pool; `db.destroy()` ends it, so this one is never destroyed on its own.
  const sessionDb = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    sessionDb,
    kind: "postgres",
    location: redactUrl(url),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

async function openPGlite(dataDir: string): Promise<DatabaseHandle> {
  // Loaded only here: production bundles (which require DATABASE_URL) never need the WASM build.
  const [{ PGlite }, { pgliteDialect }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("./pglite-dialect.js"),
  ]);
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  try {
    const pglite = await PGlite.create({ dataDir, parsers: { [INT8_OID]: parseInt8 } });
    const db = new Kysely<Database>({ dialect: pgliteDialect(pglite) });
    return {
      db,
      sessionDb: db,
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

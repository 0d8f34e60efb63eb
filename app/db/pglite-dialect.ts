import type { PGlite } from "@electric-sql/pglite";
import type { CompiledQuery, DatabaseConnection, Dialect, QueryResult } from "kysely";
import { PostgresSqlDriver, postgresDialect } from "./postgres-sql-driver.js";

/**
 * Kysely dialect for embedded PGlite. PGlite is a single connection, so the driver hands out that
 * one connection to one user at a time: a transaction holds it from BEGIN to COMMIT and every
 * other query waits its turn.
 */
export function pgliteDialect(pglite: PGlite): Dialect {
  return postgresDialect(() => new PGliteDriver(pglite));
}

class PGliteDriver extends PostgresSqlDriver {
  private readonly connection: PGliteConnection;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly pglite: PGlite) {
    super();
    this.connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {
    await this.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // A promise chain is the lock: each acquirer waits for the previous holder's release.
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((r) => (release = r));
    await previous;
    this.connection.release = release;
    return this.connection;
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as PGliteConnection;
    const release = c.release;
    c.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    // Wait for whoever holds the connection, then close the database files cleanly.
    await this.queue;
    if (!this.pglite.closed) await this.pglite.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  release: (() => void) | undefined;
  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(compiled.sql, compiled.parameters as unknown[]);
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && /^\s*(insert|update|delete|merge)/i.test(compiled.sql)
        ? { numAffectedRows: BigInt(affected) }
        : {}),
    };
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported, so it throws before any yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("PGlite dialect does not support streaming");
  }
}

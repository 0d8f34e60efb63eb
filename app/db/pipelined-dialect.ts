import { createHash } from "node:crypto";
import type { CompiledQuery, DatabaseConnection, Dialect, QueryResult, SelectQueryNode } from "kysely";
import type pg from "pg";
import { isDatabaseUnavailable } from "./errors.js";
import { PostgresSqlDriver, postgresDialect } from "./postgres-sql-driver.js";

export interface PipelinedPostgresOptions {
  /** Connections for transactions, one transaction per connection. */
  pool: pg.Pool;
  /** Opens one more connection in pipeline mode (same settings as the pool's). */
  openPipeline: () => pg.Client;
  /** How many pipelined connections carry the single statements. */
  pipelines: number;
  /** Called when a connection fails outside a query (e.g. PostgreSQL restarted). */
  onError?: ((err: Error) => void) | undefined;
}

/**
 * Kysely dialect for PostgreSQL that sends every single statement over a few shared connections
 * in pg's pipeline mode, and gives each transaction a pooled connection of its own.
 *
 * Why: on the list route a quarter of the process's time was the kernel writing one query per
 * checked-out connection and waking an idle PostgreSQL backend for it. Many requests' statements
 * on one busy connection cost less per query; measured against one pooled connection per query
 * (docs/app.md): list 3,810 -> 4,530 req/s, p99 17.4 -> 13.9 ms. Each statement carries its own
 * Sync, so a failing statement fails alone. The price: statements on one pipeline run one after
 * another, so a slow statement delays those behind it. The app's reads are small and index-bound,
 * and there are several pipelines; writes, which can wait on a lock, never go on a pipeline.
 *
 * Sessions are not pinned: a second statement on one `db.connection()` outside a transaction
 * is refused with an error rather than silently run in another session. Code that needs a
 * session (Kysely's Migrator holds a session-level advisory lock) uses a plain pooled Kysely
 * (`DatabaseHandle.sessionDb`).
 */
export function pipelinedPostgresDialect(options: PipelinedPostgresOptions): Dialect {
  return postgresDialect(() => new PipelinedPostgresDriver(options));
}

class PipelinedPostgresDriver extends PostgresSqlDriver {
  private readonly pipelines: Pipelines;

  constructor(private readonly options: PipelinedPostgresOptions) {
    super();
    this.pipelines = new Pipelines(options.pipelines, options.openPipeline, options.onError);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this.options.pool, this.pipelines, this.options.onError);
  }

  protected override async prepareTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as RoutedConnection).pin();
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } catch (err) {
      // The pool must not hand this connection out again in an unknown transaction state.
      (connection as RoutedConnection).discard();
      throw err;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as RoutedConnection).release();
  }

  async destroy(): Promise<void> {
    await this.pipelines.end();
    await this.options.pool.end();
  }
}

const SESSION_ERROR = "a db.connection() session needs one connection: use a transaction, or DatabaseHandle.sessionDb";

/** A connection as Kysely sees it: a pipeline per statement, or a pooled client once pinned. */
class RoutedConnection implements DatabaseConnection {
  private client: pg.PoolClient | undefined;
  private discarded = false;
  private statements = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly pipelines: Pipelines,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {}

  /** Takes a pooled client for a transaction; it is held until `release`. */
  async pin(): Promise<void> {
    if (this.client) return;
    // A transaction opened inside a db.connection() session that already ran a statement on a
    // pipeline would not be in that session (Kysely's Migrator does exactly this).
    if (this.statements > 0) throw new Error(SESSION_ERROR);
    const client = await this.pool.connect();
    watch(client, this.onError);
    this.client = client;
  }

  discard(): void {
    this.discarded = true;
  }

  release(): void {
    this.client?.release(this.discarded);
    this.client = undefined;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (!this.client && this.statements++ > 0) {
      throw new Error(SESSION_ERROR);
    }
    const { command, rowCount, rows } = await this.run(compiled);
    if (command === "ROLLBACK" || command === "COMMIT") return { rows: [{ command } as R] };
    return {
      rows: (rows ?? []) as R[],
      ...(command === "INSERT" || command === "UPDATE" || command === "DELETE" || command === "MERGE"
        ? { numAffectedRows: BigInt(rowCount ?? 0) }
        : {}),
    };
  }

  /**
   * A statement that may wait on a lock (any write: a todo write waits for its owner's row lock
   * while another write of the same account commits) runs on a pooled connection of its own. On a
   * pipeline it would hold up every statement queued behind it, other accounts' reads included.
   * Plain reads never wait on row locks, so they share the pipelines.
   */
  private async run(compiled: CompiledQuery) {
    if (this.client) return runPrepared(this.client, compiled.sql, compiled.parameters);
    if (readsOnly(compiled)) return runPrepared(await this.pipelines.next(), compiled.sql, compiled.parameters);
    const client = await this.pool.connect();
    watch(client, this.onError);
    let broken = false;
    try {
      return await runPrepared(client, compiled.sql, compiled.parameters);
    } catch (err) {
      // A failed statement leaves a healthy connection; a lost server does not.
      broken = isDatabaseUnavailable(err);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  // biome-ignore lint/correctness/useYield: streaming is not supported, so it throws before any yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported");
  }
}

/**
 * The shared pipelined connections, handed out in turn. A connection that fails or ends is
 * forgotten and the next statement for its slot opens a new one, which is how the app recovers
 * by itself after PostgreSQL comes back. A failed connect is forgotten too, so every request
 * tries again (and fails fast with 503 while PostgreSQL is away).
 */
class Pipelines {
  private readonly slots: Array<Promise<pg.Client> | undefined>;
  private turn = 0;
  private closed = false;

  constructor(
    size: number,
    private readonly open: () => pg.Client,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.slots = new Array(Math.max(1, size)).fill(undefined);
  }

  next(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error("Client was closed and is not queryable"));
    const slot = this.turn++ % this.slots.length;
    return (this.slots[slot] ??= this.connect(slot));
  }

  private connect(slot: number): Promise<pg.Client> {
    const client = this.open();
    const forget = () => {
      if (this.slots[slot] === ready) this.slots[slot] = undefined;
    };
    const ready = client.connect().then(
      () => client,
      (err: Error) => {
        forget();
        client.end().catch(() => {});
        throw err;
      },
    );
    // Without a listener a dropped connection's error would crash the process.
    client.on("error", (err) => {
      forget();
      this.onError?.(err);
    });
    client.on("end", forget);
    return ready;
  }

  async end(): Promise<void> {
    this.closed = true;
    const open = this.slots.map((pending) => pending);
    this.slots.fill(undefined);
    await Promise.all(
      open.map(async (pending) => {
        const client = await pending?.catch(() => undefined);
        await client?.end().catch(() => {});
      }),
    );
  }
}

const watched = new WeakSet<pg.PoolClient>();
/** A pooled client whose server goes away emits 'error' between queries; the pool drops it. */
function watch(client: pg.PoolClient, onError: ((err: Error) => void) | undefined): void {
  if (watched.has(client)) return;
  watched.add(client);
  client.on("error", (err) => onError?.(err));
}

/**
 * Runs a parameterised statement as a named prepared statement (name = hash of its SQL), so each
 * connection parses and plans it once. The app has a small fixed set of statements, so the
 * per-connection statement cache stays small.
 */
function runPrepared(client: pg.ClientBase, text: string, values: readonly unknown[]): Promise<pg.QueryResult> {
  return values.length > 0
    ? client.query({ name: statementName(text), text, values: values as unknown[] })
    : client.query(text);
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

/**
 * A statement that cannot wait on a row lock: a SELECT without a locking clause and without a
 * data-modifying WITH, built by Kysely or written as raw SQL that starts with `select`/`with` and
 * names no write. Anything else counts as a write.
 */
export function readsOnly(compiled: CompiledQuery): boolean {
  const node = compiled.query as { kind: string } & Partial<SelectQueryNode>;
  if (node.kind === "SelectQueryNode") {
    const locks = node.endModifiers?.some((m) => m.modifier !== undefined && m.modifier !== "Distinct");
    const writes = node.with?.expressions.some((cte) => cte.expression.kind !== "SelectQueryNode");
    return !locks && !writes;
  }
  if (node.kind === "RawNode") {
    return /^\s*(select|with)\b/i.test(compiled.sql) && !WRITE_WORDS.test(compiled.sql);
  }
  return false;
}
const WRITE_WORDS =
  /\b(insert|update|delete|merge|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share|nextval|setval|pg_advisory)/i;

import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import type { ObjectStore } from "../files/object-store.js";
import type { Logger } from "../logger.js";

export interface JanitorOptions {
  /** How often it runs on its own (default 60 s); deletions also poke it. */
  intervalMs?: number;
  /** Objects per run (default 100). */
  batchSize?: number;
  /** Pending uploads older than this are abandoned (default 24 hours, the contract). */
  pendingMaxAgeSeconds?: number;
}

export interface JanitorRun {
  /** Abandoned pending attachments removed (their objects queued). */
  expired: number;
  /** Objects the store confirmed gone, rows left the queue. */
  deleted: number;
  /** Objects the store confirmed gone whose upload URL may still be used: removed again later. */
  rechecked: number;
  /** Store calls that failed: retried later, the row stays. */
  failed: number;
}

/** How long a claimed row is left to the process that claimed it (a process that dies loses its claim). */
const CLAIM_SECONDS = 300;
/** The longest wait between two attempts on a failing object. */
const MAX_BACKOFF_SECONDS = 6 * 3600;

/**
 * Works through `object_deletions`, the queue the database fills in the same transaction as every
 * attachment, todo or account deletion (trigger, migration 0007), and removes abandoned uploads.
 *
 * A row leaves the queue only after the store confirmed the deletion (an absent object is a
 * success). A failure keeps the row and retries it with a growing wait. Rows are claimed with
 * `skip locked` and a lease, so several servers share the queue and a server that dies mid-run
 * only delays its rows. An object deleted while its upload URL can still be used (15 minutes from
 * the attachment's creation) is deleted once more after that URL has expired, so a late upload cannot leave an orphan behind.
 */
export class FileJanitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<JanitorRun> | undefined;
  private again = false;
  private closed = false;
  private logger: Pick<Logger, "warn" | "info"> | undefined;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly pendingMaxAgeSeconds: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: ObjectStore | undefined,
    options: JanitorOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.batchSize = options.batchSize ?? 100;
    this.pendingMaxAgeSeconds = options.pendingMaxAgeSeconds ?? 24 * 3600;
  }

  /** Runs every interval until `close`; the timer never keeps the process alive. */
  start(logger: Pick<Logger, "warn" | "info">): void {
    this.logger = logger;
    if (!this.store || this.timer || this.intervalMs <= 0) return;
    this.timer = setInterval(() => this.poke(), this.intervalMs);
    this.timer.unref();
  }

  /** Starts a run soon (after a deletion); a run already going runs once more. Never throws. */
  poke(): void {
    if (!this.store || this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.runOnce().catch((err) =>
      this.logger?.warn({ err: { message: (err as Error).message } }, "file janitor run failed; it runs again later"),
    );
  }

  /** One run now; concurrent callers share it. */
  runOnce(): Promise<JanitorRun> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.poke();
      }
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  private async run(): Promise<JanitorRun> {
    const result: JanitorRun = { expired: 0, deleted: 0, rechecked: 0, failed: 0 };
    const store = this.store;
    if (!store) return result;
    const expired = await sql`
      delete from attachments where id in (
        select id from attachments
         where status = 'pending' and created_at < now() - make_interval(secs => ${this.pendingMaxAgeSeconds})
         order by created_at limit ${this.batchSize})`.execute(this.db);
    result.expired = Number(expired.numAffectedRows ?? 0n);

    const { rows } = await sql<{ object_key: string; attempts: number; young: boolean }>`
      update object_deletions d
         set attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ${CLAIM_SECONDS})
       where d.object_key in (
         select object_key from object_deletions where next_attempt_at <= now()
          order by next_attempt_at limit ${this.batchSize} for update skip locked)
      returning d.object_key, d.attempts,
                d.upload_expires_at > now() as young`.execute(this.db);
    for (const row of rows) {
      try {
        await store.delete(row.object_key);
      } catch (err) {
        result.failed++;
        const wait = Math.min(MAX_BACKOFF_SECONDS, 15 * 2 ** Math.min(row.attempts, 20));
        const message = String((err as Error).message ?? err).slice(0, 500);
        await this.db
          .updateTable("object_deletions")
          .set({ next_attempt_at: sql<Date>`now() + make_interval(secs => ${wait})`, last_error: message })
          .where("object_key", "=", row.object_key)
          .execute();
        this.logger?.warn(
          { object_key: row.object_key, attempts: row.attempts, retry_in_s: wait, err: { message } },
          "could not delete a stored file; it is retried",
        );
        continue;
      }
      if (row.young) {
        // Its upload URL may still be used: delete once more after it has expired.
        result.rechecked++;
        await this.db
          .updateTable("object_deletions")
          .set({
            next_attempt_at: sql<Date>`upload_expires_at`,
            last_error: null,
          })
          .where("object_key", "=", row.object_key)
          .execute();
      } else {
        result.deleted++;
        await this.db.deleteFrom("object_deletions").where("object_key", "=", row.object_key).execute();
      }
    }
    return result;
  }
}

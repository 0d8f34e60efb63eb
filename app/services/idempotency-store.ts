import { createHash, randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { isForeignKeyViolation } from "../db/errors.js";
import type { Database } from "../db/schema.js";
import { stillProcessing, unauthorized } from "../errors.js";

/** A stored first response, replayed for a repeat of the same request. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Claim =
  | { kind: "claimed"; claim: string }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "in_flight" }
  | { kind: "reused" };

/** 1–255 printable ASCII characters, as the contract says. */
/**
 * 1–255 printable ASCII characters, the first and last not a space. HTTP itself strips spaces
 * around a field value (RFC 9110 §5.5), so `" k "` arrives as `k` and is that key; a key that does
 * reach the server with them (another transport, a batch operation's `idempotency_key`) is refused
 * rather than silently trimmed.
 */
export const VALID_IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/** Keys are kept at least this long (the contract says 24 hours); pruned an hour after. */
export const IDEMPOTENCY_TTL_HOURS = 24;
/**
 * How long a claim stays locked without a stored response. Longer than any request can run
 * (the server's shutdown grace is 10 s); after it a retry takes over the key of a process that died.
 */
const CLAIM_LOCK_SECONDS = 60;

/**
 * What makes two requests "the same" for a key: method, path, body and the If-Match precondition
 * (a retry with another If-Match is another request: 422, never a replay of the first answer).
 * Without If-Match the hash is the one earlier releases stored, so their keys still replay.
 */
export function requestHash(method: string, path: string, body: string, ifMatch?: string): string {
  const hash = createHash("sha256").update(`${method}\n${path}\n`);
  if (ifMatch !== undefined) hash.update(`if-match:${ifMatch}\n`);
  return hash.update(body).digest("hex");
}

/**
 * Idempotency keys in PostgreSQL, so a key holds across processes, servers and restarts.
 * Claiming is one `insert … on conflict do nothing`; the first response is stored by the same
 * transaction that made the change (see http/idempotency.ts), so a key is never "done" without
 * its change, nor a change committed under a key twice.
 */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(userId: number, key: string, hash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim = randomUUID();
      const inserted = await this.claimNew(userId, key, hash, claim);
      if (inserted) return { kind: "claimed", claim };
      const row = await this.db
        .selectFrom("idempotency_keys")
        .select([
          "request_hash",
          "claim",
          "response_status",
          "response_headers",
          "response_body",
          sql<boolean>`locked_until < now()`.as("stale"),
          sql<boolean>`created_at < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`.as("expired"),
        ])
        .where("user_id", "=", userId)
        .where("key", "=", key)
        .executeTakeFirst();
      if (!row) continue; // pruned in between: claim again
      if (row.expired) {
        // Past its 24 hours the key is free again, like a pruned one.
        await this.db
          .deleteFrom("idempotency_keys")
          .where("user_id", "=", userId)
          .where("key", "=", key)
          .where("claim", "=", row.claim)
          .execute();
        continue;
      }
      if (row.request_hash !== hash) return { kind: "reused" };
      if (row.response_status !== null) {
        return {
          kind: "replay",
          response: { status: row.response_status, headers: row.response_headers ?? {}, body: row.response_body ?? "" },
        };
      }
      if (!row.stale) return { kind: "in_flight" };
      // The process holding it died (or stalled past the lock): take it over, atomically.
      const taken = await this.db
        .updateTable("idempotency_keys")
        .set({
          claim,
          locked_until: sql<Date>`now() + make_interval(secs => ${CLAIM_LOCK_SECONDS})` as unknown as Date,
        })
        .where("user_id", "=", userId)
        .where("key", "=", key)
        .where("claim", "=", row.claim)
        .where("response_status", "is", null)
        .executeTakeFirst();
      if (taken.numUpdatedRows === 1n) return { kind: "claimed", claim };
    }
    return { kind: "in_flight" };
  }

  /** Inserts a new claim; false if the key exists. 401 if the account is gone (deleted mid-request). */
  private async claimNew(userId: number, key: string, hash: string, claim: string): Promise<boolean> {
    try {
      const inserted = await this.db
        .insertInto("idempotency_keys")
        .values({
          user_id: userId,
          key,
          request_hash: hash,
          claim,
          locked_until: sql<Date>`now() + make_interval(secs => ${CLAIM_LOCK_SECONDS})` as unknown as Date,
        })
        .onConflict((oc) => oc.columns(["user_id", "key"]).doNothing())
        .returning("claim")
        .executeTakeFirst();
      return inserted !== undefined;
    } catch (err) {
      if (isForeignKeyViolation(err)) throw unauthorized();
      throw err;
    }
  }

  /**
   * Stores the response, inside the transaction that made the change. False when the claim was
   * lost (taken over after the lock ran out): the caller must roll back.
   */
  async complete(
    trx: Kysely<Database>,
    userId: number,
    key: string,
    claim: string,
    response: StoredResponse,
  ): Promise<boolean> {
    const result = await trx
      .updateTable("idempotency_keys")
      .set({
        response_status: response.status,
        response_headers: JSON.stringify(response.headers),
        response_body: response.body,
      })
      .where("user_id", "=", userId)
      .where("key", "=", key)
      .where("claim", "=", claim)
      .where("response_status", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * Runs `work` for a claimed key in one transaction that also stores its response, so "the
   * change is made" and "the key has its response" commit together or not at all. If `work`
   * throws, nothing is committed and the key is given back, so the client's retry runs afresh.
   * Shared by the `Idempotency-Key` header (http/idempotency.ts) and the batch route's
   * `idempotency_key` (services/batch.service.ts).
   */
  async runClaimed<T>(
    db: Kysely<Database>,
    userId: number,
    key: string,
    claim: string,
    work: (trx: Kysely<Database>) => Promise<{ value: T; response: StoredResponse }>,
  ): Promise<T> {
    try {
      return await db.transaction().execute(async (trx) => {
        const { value, response } = await work(trx);
        if (!(await this.complete(trx, userId, key, claim, response))) {
          // Our claim ran out and a retry took the key over: undo, so only one of us makes the change.
          throw stillProcessing();
        }
        return value;
      });
    } catch (err) {
      await this.release(userId, key, claim).catch(() => {});
      throw err;
    }
  }

  /** Gives the key back after a request that changed nothing (an error), so a retry runs afresh. */
  async release(userId: number, key: string, claim: string): Promise<void> {
    await this.db
      .deleteFrom("idempotency_keys")
      .where("user_id", "=", userId)
      .where("key", "=", key)
      .where("claim", "=", claim)
      .where("response_status", "is", null)
      .execute();
  }

  async prune(): Promise<void> {
    await sql`delete from idempotency_keys where created_at < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS + 1})`.execute(
      this.db,
    );
  }
}

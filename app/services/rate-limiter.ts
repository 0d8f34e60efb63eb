import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { AppError } from "../errors.js";

/** Counts hits per key in fixed windows. Shared by every process that uses the same store. */
export interface RateLimitStore {
  /** Records one hit for `key` in the window starting at `windowStart`; returns the hits so far. */
  hit(key: string, windowStart: Date): Promise<number>;
  /** Forgets windows that started before `before`. */
  prune(before: Date): Promise<void>;
}

/** Counters in PostgreSQL: one atomic upsert per hit, so two processes (or servers) share one limit. */
export class PostgresRateLimitStore implements RateLimitStore {
  constructor(private readonly db: Kysely<Database>) {}

  async hit(key: string, windowStart: Date): Promise<number> {
    const row = await this.db
      .insertInto("rate_limit_buckets")
      .values({ key, window_start: windowStart, hits: 1 })
      .onConflict((oc) =>
        oc.columns(["key", "window_start"]).doUpdateSet({ hits: sql<number>`rate_limit_buckets.hits + 1` }),
      )
      .returning("hits")
      .executeTakeFirstOrThrow();
    return row.hits;
  }

  async prune(before: Date): Promise<void> {
    await this.db.deleteFrom("rate_limit_buckets").where("window_start", "<", before).execute();
  }
}

export interface RateLimiterOptions {
  limit: number;
  windowMs?: number;
  now?: () => number;
}

/** What the RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) tell the client. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Seconds until the window resets (at least 1). */
  resetSeconds: number;
}

/** 429 `rate_limited`, carrying the state so the response can still send the RateLimit-* headers. */
export class RateLimitExceeded extends AppError {
  constructor(readonly state: RateLimitState) {
    super("rate_limited", "Too many attempts. Try again later.", undefined, state.resetSeconds);
  }
}

/** A fixed-window limiter: at most `limit` hits per key per window; over it → 429 with Retry-After. */
export class RateLimiter {
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastPrune = 0;

  constructor(
    private readonly store: RateLimitStore,
    private readonly options: RateLimiterOptions,
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async consume(key: string): Promise<RateLimitState> {
    const now = this.now();
    const windowStart = now - (now % this.windowMs);
    const hits = await this.store.hit(key, new Date(windowStart));
    this.maybePrune(now);
    const state = {
      limit: this.options.limit,
      remaining: Math.max(0, this.options.limit - hits),
      resetSeconds: Math.max(1, Math.ceil((windowStart + this.windowMs - now) / 1000)),
    };
    if (hits > this.options.limit) throw new RateLimitExceeded(state);
    return state;
  }

  private maybePrune(now: number): void {
    // At most once per window per process, off the request's path; old buckets are dead weight only.
    if (now - this.lastPrune < this.windowMs) return;
    this.lastPrune = now;
    this.store.prune(new Date(now - 2 * this.windowMs)).catch(() => {});
  }
}

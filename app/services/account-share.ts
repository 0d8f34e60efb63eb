import { AppError } from "../errors.js";
import { RateLimitExceeded, RateLimiter, type RateLimitState, type RateLimitStore } from "./rate-limiter.js";

/**
 * One account's share of a process. Every account's requests share the process's database
 * connections; without a bound, one account sending many parallel requests holds all of them and
 * every other account waits behind it. So each account may have at most `maxInFlight` requests
 * running, a few more waiting their turn (first come, first served), and `perMinute` requests per
 * minute; past either → 429 `rate_limited` with the RateLimit-* headers.
 *
 * Counted per process, in memory: it protects the process that would otherwise be taken, costs
 * no database round trip per request, and forgets an idle account. With several app processes
 * (instances or servers) an account's per-minute budget is per process, not a shared total.
 */
export interface AccountShareOptions {
  /** Requests of one account running at once. */
  maxInFlight: number;
  /** Requests of one account waiting for a turn; one more is refused at once. */
  maxQueued: number;
  /** How long a request may wait for a turn before it is refused. */
  queueTimeoutMs: number;
  /** Requests of one account per minute. */
  perMinute: number;
  now?: () => number;
}

interface Account {
  inFlight: number;
  waiting: Array<() => void>;
}

/** Fixed-window counters in this process's memory (the RateLimiter prunes old windows). */
class MemoryRateLimitStore implements RateLimitStore {
  private readonly hits = new Map<string, number>();

  async hit(key: string, windowStart: Date): Promise<number> {
    const k = `${windowStart.getTime()}|${key}`;
    const n = (this.hits.get(k) ?? 0) + 1;
    this.hits.set(k, n);
    return n;
  }

  async prune(before: Date): Promise<void> {
    const cutoff = before.getTime();
    for (const k of this.hits.keys()) {
      if (Number(k.slice(0, k.indexOf("|"))) < cutoff) this.hits.delete(k);
    }
  }
}

export class AccountShare {
  private readonly accounts = new Map<number, Account>();
  private readonly rate: RateLimiter;

  constructor(private readonly options: AccountShareOptions) {
    this.rate = new RateLimiter(new MemoryRateLimitStore(), {
      limit: options.perMinute,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /**
   * Counts the request against the account's minute, waits for one of the account's turns, runs
   * `work`, and gives the turn to the next waiting request of the same account. Throws
   * RateLimitExceeded (429) without running `work` when the account is over either bound.
   */
  async run<T>(userId: number, onState: (state: RateLimitState) => void, work: () => Promise<T>): Promise<T> {
    onState(await this.rate.consume(`account:${userId}`).catch(rethrowWithState(onState)));
    const account = this.accounts.get(userId) ?? { inFlight: 0, waiting: [] };
    this.accounts.set(userId, account);
    if (account.inFlight >= this.options.maxInFlight) await this.waitForTurn(account);
    else account.inFlight++;
    try {
      return await work();
    } finally {
      const next = account.waiting.shift();
      if (next) next();
      else if (--account.inFlight === 0) this.accounts.delete(userId);
    }
  }

  private waitForTurn(account: Account): Promise<void> {
    if (account.waiting.length >= this.options.maxQueued) return Promise.reject(tooManyAtOnce());
    return new Promise<void>((resolve, reject) => {
      // The turn passes with inFlight unchanged: the finishing request hands its place over.
      const turn = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = account.waiting.indexOf(turn);
        if (at >= 0) account.waiting.splice(at, 1);
        reject(tooManyAtOnce());
      }, this.options.queueTimeoutMs);
      timer.unref?.();
      account.waiting.push(turn);
    });
  }
}

/** The minute's budget is not the reason, so its headers stay as they were; Retry-After says 1 s. */
function tooManyAtOnce(): AppError {
  return new AppError(
    "rate_limited",
    "Too many requests of this account at once. Try again in a moment.",
    undefined,
    1,
  );
}

function rethrowWithState(onState: (state: RateLimitState) => void) {
  return (err: unknown): never => {
    if (err instanceof RateLimitExceeded) onState(err.state);
    throw err;
  };
}

import type { Logger } from "../logger.js";

/**
 * Housekeeping that keeps the v1.1 tables bounded: tombstones past the sync retention and
 * idempotency keys past their 24 hours. Those tables only grow through requests (a delete, an
 * idempotent POST), so those requests also trigger the cleanup: at most once per interval per
 * process, never awaited by the request, and a failure only logs. With no such traffic nothing
 * grows, so nothing needs a timer (and shutdown has nothing extra to stop).
 */
export class Cleanup {
  private last = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly tasks: Array<{ name: string; run: () => Promise<void> }>,
    private readonly intervalMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a cleanup if the last one is older than the interval; returns at once. */
  maybeRun(logger: Pick<Logger, "warn">): void {
    const now = this.now();
    if (this.running || now - this.last < this.intervalMs) return;
    this.last = now;
    this.running = this.runAll(logger).finally(() => {
      this.running = undefined;
    });
  }

  /** Runs every task now (tests, and the periodic path above). */
  async runAll(logger: Pick<Logger, "warn">): Promise<void> {
    for (const task of this.tasks) {
      try {
        await task.run();
      } catch (err) {
        logger.warn(
          { task: task.name, err: { message: (err as Error).message } },
          "cleanup failed; it runs again later",
        );
      }
    }
  }
}

interface Job {
  what: string;
  run: () => Promise<void>;
  onError: (err: unknown) => void;
}

/**
 * Account mail work (look the address up, issue a code, talk SMTP) waits here and runs on the
 * queue's own clock, every `intervalMs`, never right after the response that asked for it. Run
 * right after the response, that work slowed the same client's next request only when the address
 * was registered, which told an attacker which addresses are. On a fixed tick it runs at a time
 * that does not follow the client's requests. `intervalMs: 0` runs each job right after the
 * response (what earlier releases did; kept as the baseline of the timing measurement).
 */
export class MailQueue {
  private jobs: Job[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;

  constructor(private readonly intervalMs = 250) {}

  enqueue(job: Job): void {
    if (this.intervalMs === 0) {
      setImmediate(() => void this.runOne(job));
      return;
    }
    this.jobs.push(job);
    if (!this.timer) {
      this.timer = setInterval(() => void this.drain(), this.intervalMs);
      this.timer.unref(); // an idle queue never keeps the process alive
    }
  }

  /** Runs every queued job, one after another; a tick that finds a drain running lets it be. */
  drain(): Promise<void> {
    if (this.draining) return this.draining;
    const run = (async () => {
      while (this.jobs.length > 0) await this.runOne(this.jobs.shift()!);
    })().finally(() => {
      // A callback, so it runs after `this.draining` is set even when there was nothing to do.
      if (this.draining === run) this.draining = undefined;
    });
    this.draining = run;
    return run;
  }

  /** On shutdown: no more ticks; the jobs already queued still run (the database is still open). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.drain();
  }

  get pending(): number {
    return this.jobs.length;
  }

  private async runOne(job: Job): Promise<void> {
    try {
      await job.run();
    } catch (err) {
      job.onError(err);
    }
  }
}

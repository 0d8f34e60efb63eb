/**
 * Prints each step of the rehearsal with its duration, and a summary at the end, so a CI log
 * shows at a glance which step failed and where the time went.
 */
export interface StepRecord {
  name: string;
  seconds: number;
  status: "ok" | "failed" | "skipped";
  note?: string;
}

export class StepLog {
  readonly records: StepRecord[] = [];
  private readonly started = Date.now();

  async step<T>(name: string, body: () => Promise<T>): Promise<T> {
    const start = Date.now();
    process.stdout.write(`\n▶ ${name}\n`);
    try {
      const result = await body();
      const seconds = (Date.now() - start) / 1000;
      this.records.push({ name, seconds, status: "ok" });
      process.stdout.write(`✔ ${name} (${seconds.toFixed(1)} s)\n`);
      return result;
    } catch (error) {
      const seconds = (Date.now() - start) / 1000;
      this.records.push({ name, seconds, status: "failed" });
      process.stdout.write(`✘ ${name} (${seconds.toFixed(1)} s)\n`);
      throw error;
    }
  }

  /**
   * A step whose failure does not invalidate the ones after it (e.g. requests failed during a
   * rolling restart, but the release is deployed): recorded as failed, printed, and the run goes on.
   */
  async check(name: string, body: () => Promise<void>): Promise<boolean> {
    try {
      await this.step(name, body);
      return true;
    } catch (error) {
      process.stdout.write(`  ✘ ${(error as Error).message.split("\n").join("\n    ")}\n`);
      return false;
    }
  }

  /** Measured figures worth reading without the whole log: printed now, and again in the summary. */
  readonly figures: string[] = [];

  figure(message: string): void {
    this.figures.push(message);
    this.info(message);
  }

  get failed(): StepRecord[] {
    return this.records.filter((r) => r.status === "failed");
  }

  /** A line of detail under the current step. */
  info(message: string): void {
    process.stdout.write(`  ${message.split("\n").join("\n  ")}\n`);
  }

  summary(): string {
    const width = Math.max(...this.records.map((r) => r.name.length), 10);
    const lines = this.records.map(
      (r) =>
        `  ${r.status === "ok" ? "ok    " : "FAILED"}  ${r.name.padEnd(width)}  ${r.seconds.toFixed(1).padStart(7)} s`,
    );
    const total = (Date.now() - this.started) / 1000;
    lines.push(`  total ${"".padEnd(width + 2)}${total.toFixed(1).padStart(7)} s`);
    for (const figure of this.figures) lines.push(`  ${figure}`);
    return lines.join("\n");
  }
}

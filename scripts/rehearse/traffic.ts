import { setTimeout as sleep } from "node:timers/promises";

/**
 * A continuous, bounded stream of client requests (an authenticated todo list and /readyz, both
 * through Nginx) kept up while releases are switched. Every response that is not 200, and every
 * connection error, counts as a failure a mobile user would have seen.
 */
export interface TrafficReport {
  requests: number;
  failures: number;
  /** The first few failures, for the report. */
  samples: string[];
  seconds: number;
}

export interface Traffic {
  stop(): Promise<TrafficReport>;
}

export function startTraffic(
  baseUrl: string,
  token: string,
  { workers = 4, pauseMs = 10, maxSeconds = 600 } = {}
): Traffic {
  const started = Date.now();
  const report: TrafficReport = { requests: 0, failures: 0, samples: [], seconds: 0 };
  let stopping = false;
  const paths = ["/api/v1/todos?limit=5", "/readyz"];

  const worker = async (index: number) => {
    let n = index;
    while (!stopping && Date.now() - started < maxSeconds * 1000) {
      const path = paths[n++ % paths.length]!;
      try {
        const response = await fetch(new URL(path, baseUrl), {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.status !== 200) fail(`${path}: HTTP ${response.status}`);
      } catch (error) {
        fail(`${path}: ${(error as Error).message}`);
      }
      report.requests += 1;
      await sleep(pauseMs);
    }
  };
  const fail = (what: string) => {
    report.failures += 1;
    if (report.samples.length < 10) report.samples.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}`);
  };
  const running = Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));

  return {
    async stop() {
      stopping = true;
      await running;
      report.seconds = (Date.now() - started) / 1000;
      return report;
    },
  };
}

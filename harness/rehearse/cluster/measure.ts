import type { StepLog } from "../steps.js";
import { describeReport, startWriteTraffic, type WriteTrafficReport } from "../write-traffic.js";

/**
 * Runs `body` under the rehearsal's write traffic (6 clients: POST/GET/PATCH/GET/DELETE, half on
 * kept-alive connections, half not; bounded by `maxSeconds`) through the load balancer, logs and
 * keeps the figures (requests, failures, p99), and fails when requests failed where none may.
 */
export class TrafficFigures {
  readonly lines: string[] = [];

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly log: StepLog,
  ) {}

  async measure(
    name: string,
    body: () => Promise<void>,
    { mayFail = false }: { mayFail?: boolean } = {},
  ): Promise<WriteTrafficReport> {
    const traffic = startWriteTraffic(this.apiUrl, this.token, { clients: 6, maxSeconds: 900 });
    let report: WriteTrafficReport | undefined;
    try {
      await body();
    } finally {
      report = await traffic.stop();
      const line = `${name}: ${describeReport(report)}`;
      this.lines.push(line);
      this.log.info(line);
      for (const sample of report.samples) this.log.info(`  ${sample}`);
    }
    if (!mayFail && report.failures > 0) throw new Error(`${report.failures} request(s) failed during ${name}`);
    return report;
  }
}

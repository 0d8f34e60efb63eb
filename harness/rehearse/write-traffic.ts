import { Agent, request } from "node:http";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Mobile clients writing through Nginx while releases are switched: each client creates a todo
 * (POST), lists (GET), updates it (PATCH), reads it (GET) and deletes it (DELETE), with a think
 * time between requests. Half the clients keep their connection alive, half open one per request.
 * Every answer other than the expected status, and every connection error, is a failure a user
 * would have seen. Nothing is sent twice by default: a request on a kept-alive connection that
 * closes under it fails too (todo-release drains instances without reloading Nginx, which would
 * close them).
 *
 * `resendOnStaleConnection` is for steps that must reload Nginx (a new site for a new domain): a
 * reload closes idle kept-alive connections, and a request written at that instant meets the close
 * before any answer. HTTP/1.1 clients resend such a request once on a new connection (RFC 9112
 * §9.3.1; OkHttp and URLSession do, and Node's docs show the same with `request.reusedSocket`); POSTs
 * carry an Idempotency-Key (API v1.1), so a resent create cannot create twice. Those resends are
 * counted apart, and a second failure of the same request is a failure.
 */
export interface WriteTrafficReport {
  requests: number;
  failures: number;
  byMethod: Record<string, number>;
  p99Ms: number;
  seconds: number;
  /** Requests resent once because a kept-alive connection closed before any answer (see above). */
  resent: number;
  /** The first few failures, for the report. */
  samples: string[];
}

export interface WriteTraffic {
  stop(): Promise<WriteTrafficReport>;
}

interface Reply {
  status: number;
  body: string;
}

export function startWriteTraffic(
  baseUrl: string,
  token: string,
  { clients = 6, maxSeconds = 600, resendOnStaleConnection = false } = {},
): WriteTraffic {
  const url = new URL(baseUrl);
  const started = Date.now();
  const latencies: number[] = [];
  const report: WriteTrafficReport = {
    requests: 0,
    failures: 0,
    byMethod: {},
    p99Ms: 0,
    seconds: 0,
    resent: 0,
    samples: [],
  };
  let stopping = false;

  const fail = (what: string) => {
    report.failures += 1;
    if (report.samples.length < 10) report.samples.push(`${((Date.now() - started) / 1000).toFixed(1)} s ${what}`);
  };

  const send = (
    agent: Agent | false,
    method: string,
    path: string,
    json?: unknown,
    headers: Record<string, string> = {},
  ) =>
    new Promise<{ reply?: Reply; error?: string; stale?: boolean }>((resolve) => {
      const body = json === undefined ? undefined : JSON.stringify(json);
      const req = request(
        {
          host: url.hostname,
          port: url.port || 80,
          method,
          path,
          agent,
          timeout: 15_000,
          headers: {
            authorization: `Bearer ${token}`,
            ...headers,
            ...(body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ reply: { status: res.statusCode!, body: text } }));
          res.on("error", (err) => resolve({ error: err.message }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("no answer within 15 s")));
      // A kept-alive connection the server closed before any answer came back on it.
      req.on("error", (err: NodeJS.ErrnoException) =>
        resolve({ error: err.message, stale: req.reusedSocket && (err.code === "ECONNRESET" || err.code === "EPIPE") }),
      );
      req.end(body);
    });

  /** One request, timed; returns the parsed body when the status is the expected one. */
  const call = async (agent: Agent | false, method: string, path: string, expected: number, json?: unknown) => {
    const t0 = performance.now();
    const headers: Record<string, string> = method === "POST" ? { "idempotency-key": randomUUID() } : {};
    let result = await send(agent, method, path, json, headers);
    if (result.stale && resendOnStaleConnection) {
      report.resent += 1;
      result = await send(agent, method, path, json, headers);
    }
    latencies.push(performance.now() - t0);
    report.requests += 1;
    report.byMethod[method] = (report.byMethod[method] ?? 0) + 1;
    if (result.error !== undefined) {
      fail(`${method} ${path}: ${result.error}`);
      return undefined;
    }
    if (result.reply!.status !== expected) {
      fail(`${method} ${path}: HTTP ${result.reply!.status} ${result.reply!.body.slice(0, 120)}`);
      return undefined;
    }
    return result.reply!.body ? (JSON.parse(result.reply!.body) as Record<string, unknown>) : {};
  };

  const client = async (index: number) => {
    const agent = index % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    const think = () => sleep(5 + ((index * 7 + report.requests) % 11));
    for (let n = 0; !stopping && Date.now() - started < maxSeconds * 1000; n++) {
      const created = await call(agent, "POST", "/api/v1/todos", 201, { title: `rehearsal client ${index} #${n}` });
      await think();
      await call(agent, "GET", "/api/v1/todos?limit=5", 200);
      await think();
      if (!created) continue;
      const path = `/api/v1/todos/${String(created.id)}`;
      await call(agent, "PATCH", path, 200, { completed: true, description: `updated by client ${index}` });
      await think();
      await call(agent, "GET", path, 200);
      await think();
      await call(agent, "DELETE", path, 204);
      await think();
    }
    if (agent) agent.destroy();
  };
  const running = Promise.all(Array.from({ length: clients }, (_, i) => client(i)));

  return {
    async stop() {
      stopping = true;
      await running;
      report.seconds = (Date.now() - started) / 1000;
      const sorted = latencies.sort((a, b) => a - b);
      report.p99Ms = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]! : 0;
      return report;
    },
  };
}

export function describeReport(report: WriteTrafficReport): string {
  const methods = Object.entries(report.byMethod)
    .map(([m, n]) => `${m} ${n}`)
    .join(", ");
  return (
    `${report.requests} requests (${methods}) in ${report.seconds.toFixed(1)} s, ${report.failures} failed, p99 ${report.p99Ms.toFixed(0)} ms` +
    (report.resent ? `, ${report.resent} resent once after Nginx closed a kept-alive connection` : "")
  );
}

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadSpec {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  threads: number;
  durationSeconds: number;
  /** More Lua after the reporter, e.g. a `request()` that builds each request (mix.ts). */
  lua?: string;
  /** More environment for wrk (what that Lua reads with os.getenv). */
  env?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors: any of these makes the figure worthless. */
  errors: number;
  /** Of those: requests wrk gave up on after its 2 s timeout, and answers of status 400 or more. */
  timeouts?: number;
  statusErrors?: number;
}

// wrk's `done` hook reports exact percentiles from its HDR histogram; reading them as JSON
// is sturdier than scraping the human summary. Request details come in through the
// environment so no value needs quoting inside Lua.
const reporter = `
wrk.method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then wrk.body = body end
local n = tonumber(os.getenv("BENCH_HEADER_COUNT"))
for i = 1, n do
  wrk.headers[os.getenv("BENCH_HEADER_NAME_" .. i)] = os.getenv("BENCH_HEADER_VALUE_" .. i)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"timeouts":%d,"status_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status, e.timeout, e.status))
end
`;

/** Runs wrk (Debian package `wrk`) against one endpoint and returns its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-wrk-"));
  const script = join(dir, "report.lua");
  writeFileSync(script, reporter + (spec.lua ?? ""));
  const headers = Object.entries(spec.headers ?? {});
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_METHOD: spec.method ?? "GET",
    BENCH_BODY: spec.body ?? "",
    BENCH_HEADER_COUNT: String(headers.length),
    ...spec.env,
  };
  headers.forEach(([name, value], i) => {
    env[`BENCH_HEADER_NAME_${i + 1}`] = name;
    env[`BENCH_HEADER_VALUE_${i + 1}`] = value;
  });
  const args = [`-t${spec.threads}`, `-c${spec.connections}`, `-d${spec.durationSeconds}s`, "-s", script, spec.url];
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("wrk", args, { env, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.on("error", (err: NodeJS.ErrnoException) =>
        reject(
          err.code === "ENOENT"
            ? new Error("wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu) and try again")
            : err,
        ),
      );
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}:\n${out}`))));
    });
    return parseWrkResult(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures of the reporter's WRK_RESULT line in wrk's output. */
export function parseWrkResult(output: string): LoadResult {
  const line = output.split("\n").find((l) => l.startsWith("WRK_RESULT "));
  if (!line) throw new Error(`wrk printed no result:\n${output}`);
  const raw = JSON.parse(line.slice("WRK_RESULT ".length)) as {
    requests: number;
    duration_us: number;
    p50_us: number;
    p99_us: number;
    errors: number;
    timeouts?: number;
    status_errors?: number;
  };
  if (!(raw.duration_us > 0)) throw new Error(`wrk reported a run of ${raw.duration_us} µs: ${line}`);
  return {
    requests: raw.requests,
    requestsPerSecond: raw.requests / (raw.duration_us / 1e6),
    p50Ms: raw.p50_us / 1000,
    p99Ms: raw.p99_us / 1000,
    errors: raw.errors,
    ...(raw.timeouts === undefined ? {} : { timeouts: raw.timeouts }),
    ...(raw.status_errors === undefined ? {} : { statusErrors: raw.status_errors }),
  };
}

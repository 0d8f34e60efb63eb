import type { LoadResult } from "./wrk.js";

/**
 * The capacity sweep's arithmetic: the rounds of each concurrency level reduced to a median with
 * its spread, the load at which p99 passes the limit, and the table for docs/scale-out.md.
 */
export interface LevelRun extends LoadResult {
  connections: number;
  /** Peak PSS of the server's processes during the run, bytes, by role and "total". */
  memory: Record<string, number>;
  /** CPU the server's processes used during the run, in cores (CPU seconds per second). */
  cpuCores: number;
  /** The CPU split by role (app instances, Nginx, system, …), in cores. */
  cpuByRole?: Record<string, number>;
  /** Each part of a multi-machine target on its own (servers, RDS, the load balancer). */
  parts?: Record<string, PartRun>;
  /** The whole host during the run: its busy cores, and wrk's share of them. */
  host?: { busyCores: number; wrkCores: number };
}

export interface PartRun {
  cpuCores: number;
  memory: Record<string, number>;
  cpuByRole?: Record<string, number>;
}

export interface PartLevel {
  cpuCores: Spread;
  memory: Record<string, number>;
  cpuByRole: Record<string, Spread>;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Level {
  connections: number;
  rounds: number;
  requestsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  errors: number;
  /** Of the errors: wrk's timeouts and answers of status 400 or more (the rest are socket errors). */
  timeouts: number;
  statusErrors: number;
  cpuCores: Spread;
  /** Requests per CPU-second the server used: on a shared host, steadier than req/s alone. */
  perCore: Spread;
  /** The largest peak of the rounds (memory is what must fit, so the worst round counts). */
  memory: Record<string, number>;
  cpuByRole: Record<string, Spread>;
  parts?: Record<string, PartLevel>;
  host?: { busyCores: Spread; wrkCores: Spread };
}

export function spreadOf(values: number[]): Spread {
  if (values.length === 0) throw new Error("no values to take a median of");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** One row per concurrency level, in rising order, from runs in any order. */
export function levelsOf(runs: LevelRun[]): Level[] {
  const byLevel = new Map<number, LevelRun[]>();
  for (const run of runs) byLevel.set(run.connections, [...(byLevel.get(run.connections) ?? []), run]);
  return [...byLevel.entries()]
    .sort(([a], [b]) => a - b)
    .map(([connections, group]) => {
      const hosts = group.flatMap((r) => (r.host ? [r.host] : []));
      return {
        connections,
        rounds: group.length,
        requestsPerSecond: spreadOf(group.map((r) => r.requestsPerSecond)),
        p50Ms: spreadOf(group.map((r) => r.p50Ms)),
        p99Ms: spreadOf(group.map((r) => r.p99Ms)),
        errors: group.reduce((s, r) => s + r.errors, 0),
        timeouts: group.reduce((s, r) => s + (r.timeouts ?? 0), 0),
        statusErrors: group.reduce((s, r) => s + (r.statusErrors ?? 0), 0),
        cpuCores: spreadOf(group.map((r) => r.cpuCores)),
        perCore: spreadOf(group.map((r) => (r.cpuCores > 0 ? r.requestsPerSecond / r.cpuCores : 0))),
        memory: peakOf(group.map((r) => r.memory)),
        cpuByRole: rolesOf(group.map((r) => r.cpuByRole ?? {})),
        ...(group.some((r) => r.parts) ? { parts: partsOf(group) } : {}),
        ...(hosts.length
          ? {
              host: {
                busyCores: spreadOf(hosts.map((h) => h.busyCores)),
                wrkCores: spreadOf(hosts.map((h) => h.wrkCores)),
              },
            }
          : {}),
      };
    });
}

/** Per role, the largest of the peaks. */
function peakOf(samples: Record<string, number>[]): Record<string, number> {
  const memory: Record<string, number> = {};
  for (const sample of samples)
    for (const [role, bytes] of Object.entries(sample)) memory[role] = Math.max(memory[role] ?? 0, bytes);
  return memory;
}

/** Per role, the spread over the runs (a run without the role counts 0). */
function rolesOf(samples: Record<string, number>[]): Record<string, Spread> {
  const roles = [...new Set(samples.flatMap((s) => Object.keys(s)))].sort();
  return Object.fromEntries(roles.map((role) => [role, spreadOf(samples.map((s) => s[role] ?? 0))]));
}

function partsOf(group: LevelRun[]): NonNullable<Level["parts"]> {
  const names = [...new Set(group.flatMap((r) => Object.keys(r.parts ?? {})))];
  return Object.fromEntries(
    names.map((name) => {
      const runs = group.flatMap((r) => (r.parts?.[name] ? [r.parts[name]] : []));
      const level: PartLevel = {
        cpuCores: spreadOf(runs.map((p) => p.cpuCores)),
        memory: peakOf(runs.map((p) => p.memory)),
        cpuByRole: rolesOf(runs.map((p) => p.cpuByRole ?? {})),
      };
      return [name, level];
    }),
  );
}

export interface Capacity {
  /** The level with the most throughput whose median p99 stays within the limit. */
  within?: Level;
  /** The first level whose median p99 passes the limit. */
  beyond?: Level;
}

export function capacityAt(levels: Level[], p99LimitMs: number): Capacity {
  const ok = levels.filter((l) => l.p99Ms.median <= p99LimitMs && l.errors === 0);
  const within = ok.sort((a, b) => b.requestsPerSecond.median - a.requestsPerSecond.median)[0];
  const beyond = levels.find((l) => l.p99Ms.median > p99LimitMs);
  return { ...(within ? { within } : {}), ...(beyond ? { beyond } : {}) };
}

export const mib = (bytes: number | undefined) => (bytes === undefined ? "–" : `${Math.round(bytes / 1024 ** 2)}`);
export const range = (s: Spread, digits = 0) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** The sweep as a Markdown table: median (min–max over the rounds) per level. */
export function markdownTable(levels: Level[]): string {
  const lines = [
    "| connections | req/s | p50 ms | p99 ms | errors | server CPU, cores | req/s per core | server memory MiB (app / PostgreSQL / Nginx / system) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const l of levels) {
    const m = l.memory;
    const errors = l.errors ? `${l.errors} (${l.timeouts} timeouts, ${l.statusErrors} ≥ 400)` : "0";
    lines.push(
      `| ${l.connections} | ${range(l.requestsPerSecond)} | ${range(l.p50Ms, 1)} | ${range(l.p99Ms, 1)} | ${errors} | ${range(l.cpuCores, 2)} | ${range(l.perCore)} | ${mib(m.total)} (${mib(m["app instances"])} / ${mib(m.PostgreSQL)} / ${mib(m.Nginx)} / ${mib(m.system)}) |`,
    );
  }
  return lines.join("\n");
}

/** One sentence: the throughput where p99 passes the limit, and the memory at that load. */
export function capacitySentence(levels: Level[], p99LimitMs: number): string {
  const { within, beyond } = capacityAt(levels, p99LimitMs);
  const parts: string[] = [];
  if (within)
    parts.push(
      `${within.requestsPerSecond.median.toFixed(0)} req/s with p99 ${within.p99Ms.median.toFixed(1)} ms at ${within.connections} connections (server memory ${mib(within.memory.total)} MiB)`,
    );
  else parts.push(`no level kept p99 within ${p99LimitMs} ms without errors`);
  if (beyond)
    parts.push(
      `p99 passes ${p99LimitMs} ms at ${beyond.connections} connections (${beyond.p99Ms.median.toFixed(1)} ms, ${beyond.requestsPerSecond.median.toFixed(0)} req/s, server memory ${mib(beyond.memory.total)} MiB)`,
    );
  else parts.push(`p99 stayed within ${p99LimitMs} ms up to the highest level measured`);
  return parts.join("; ");
}

/** Where the server's CPU went per level (medians, cores), from its processes' own counts. */
export function cpuByRoleTable(levels: Level[], roles: string[]): string {
  const lines = [`| connections | ${roles.join(" / ")} |`, "| ---: | ---: |"];
  for (const l of levels)
    lines.push(
      `| ${l.connections} | ${roles.map((role) => l.cpuByRole[role]?.median.toFixed(2) ?? "–").join(" / ")} |`,
    );
  return lines.join("\n");
}

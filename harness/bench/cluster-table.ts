import { capacityAt, type Level, mib, range, type Spread } from "./capacity-table.js";

/**
 * The two-server sweep as a table and sentences for docs/scale-out.md: per level, each app
 * server's CPU and memory, RDS's share, the load balancer's and wrk's CPU, and the host's busy
 * cores (on a shared machine, what the servers got is the figure to scale from).
 */
export const LOAD_BALANCER = "load balancer";
export const RDS = "RDS";

/** The app servers among a level's parts, in name order (app-1, app-2, …). */
export function serverParts(level: Level): string[] {
  return Object.keys(level.parts ?? {})
    .filter((name) => name !== RDS && name !== LOAD_BALANCER)
    .sort();
}

const cores = (s: Spread | undefined) => (s ? s.median.toFixed(2) : "–");
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** One server's memory: total (app instances / Nginx / system). */
function serverMemory(memory: Record<string, number>): string {
  return `${mib(memory.total)} (${mib(memory["app instances"])} / ${mib(memory.Nginx)} / ${mib(memory.system)})`;
}

export function clusterMarkdownTable(levels: Level[]): string {
  const servers = levels[0] ? serverParts(levels[0]) : [];
  const lines = [
    `| connections | req/s | p50 ms | p99 ms | errors | CPU cores: ${servers.join(" / ")} / RDS | req/s per core (servers + RDS) | load balancer / wrk / whole host, cores | memory MiB: ${servers.map((s) => `${s} (app / Nginx / system)`).join(", ")}, RDS |`,
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const l of levels) {
    const parts = l.parts ?? {};
    const errors = l.errors ? `${l.errors} (${l.timeouts} timeouts, ${l.statusErrors} ≥ 400)` : "0";
    const cpu = [...servers, RDS].map((name) => cores(parts[name]?.cpuCores)).join(" / ");
    const others = `${cores(parts[LOAD_BALANCER]?.cpuCores)} / ${cores(l.host?.wrkCores)} / ${cores(l.host?.busyCores)}`;
    const memory = [
      ...servers.map((name) => serverMemory(parts[name]?.memory ?? {})),
      mib(parts[RDS]?.memory.total),
    ].join(", ");
    lines.push(
      `| ${l.connections} | ${range(l.requestsPerSecond)} | ${range(l.p50Ms, 1)} | ${range(l.p99Ms, 1)} | ${errors} | ${cpu} | ${range(l.perCore)} | ${others} | ${memory} |`,
    );
  }
  return lines.join("\n");
}

/** The servers' memory at a level: "241 and 238 MiB, RDS 61 MiB". */
function memoryAt(level: Level): string {
  const parts = level.parts ?? {};
  const servers = serverParts(level).map((name) => mib(parts[name]?.memory.total));
  return `servers ${servers.join(" and ")} MiB of 2,048 each, RDS ${mib(parts[RDS]?.memory.total)} MiB`;
}

/** The throughput where p99 passes the limit, and the memory at that load. */
export function clusterCapacitySentence(levels: Level[], p99LimitMs: number): string {
  const { within, beyond } = capacityAt(levels, p99LimitMs);
  const parts: string[] = [];
  if (within)
    parts.push(
      `${within.requestsPerSecond.median.toFixed(0)} req/s with p99 ${within.p99Ms.median.toFixed(1)} ms at ${within.connections} connections (${memoryAt(within)})`,
    );
  else parts.push(`no level kept p99 within ${p99LimitMs} ms without errors`);
  if (beyond)
    parts.push(
      `p99 passes ${p99LimitMs} ms at ${beyond.connections} connections (${beyond.p99Ms.median.toFixed(1)} ms, ${beyond.requestsPerSecond.median.toFixed(0)} req/s; ${memoryAt(beyond)})`,
    );
  else parts.push(`p99 stayed within ${p99LimitMs} ms up to the highest level measured`);
  return parts.join("; ");
}

const between = (values: number[], digits: number) =>
  values.length === 0 ? "–" : `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/**
 * Where the host's cores went, over the levels (medians per level): what a reader scales from.
 * CPU-seconds per request is the inverse of requests per core.
 */
export function cpuSentence(levels: Level[]): string {
  const perCore = levels.map((l) => l.perCore.median).filter((v) => v > 0);
  const servers = levels.map((l) => sum(serverParts(l).map((name) => l.parts?.[name]?.cpuCores.median ?? 0)));
  const rds = levels.map((l) => l.parts?.[RDS]?.cpuCores.median ?? 0);
  const balancer = levels.map((l) => l.parts?.[LOAD_BALANCER]?.cpuCores.median ?? 0);
  const wrk = levels.flatMap((l) => (l.host ? [l.host.wrkCores.median] : []));
  const host = levels.flatMap((l) => (l.host ? [l.host.busyCores.median] : []));
  const msPerRequest = perCore.map((v) => 1000 / v);
  return (
    `the servers and RDS did ${between(perCore, 0)} requests per CPU-second (${between(msPerRequest, 2)} ms of CPU per request); ` +
    `the two servers got ${between(servers, 2)} cores together (of their 4), RDS ${between(rds, 2)}, ` +
    `the load balancer ${between(balancer, 2)}, wrk ${between(wrk, 2)}; the whole host was busy ${between(host, 2)} cores`
  );
}

const SERVER_CPU_ROLES = ["app instances", "Nginx", "journald", "system"];

/**
 * Where each server's CPU went, per level (medians, cores): the app instances, Nginx, the
 * journal (every request's log lines) and the rest of the system; and RDS's PostgreSQL. Read from
 * the processes' own counts, so a process that exited during a run is missing from its row.
 */
export function cpuSplitTable(levels: Level[]): string {
  const servers = levels[0] ? serverParts(levels[0]) : [];
  const lines = [
    `| connections | ${servers.map((s) => `${s}: ${SERVER_CPU_ROLES.join(" / ")}`).join(" | ")} | RDS: PostgreSQL |`,
    `| ---: | ${servers.map(() => "---:").join(" | ")} | ---: |`,
  ];
  for (const l of levels) {
    const split = (name: string, roles: string[]) =>
      roles.map((role) => cores(l.parts?.[name]?.cpuByRole[role])).join(" / ");
    lines.push(
      `| ${l.connections} | ${servers.map((s) => split(s, SERVER_CPU_ROLES)).join(" | ")} | ${split(RDS, ["PostgreSQL"])} |`,
    );
  }
  return lines.join("\n");
}

/**
 * How a server's memory is shared out: each app instance's MemoryMax (and with it V8's heap limit,
 * node-flags.ts) and PostgreSQL's memory settings, from the one figure the server itself knows for
 * certain, MemTotal. The release's server kit (kit.ts) reads /proc/meminfo at every deploy and
 * renders the app unit and /etc/todo-memory.conf from this plan; todo-setup writes PostgreSQL's
 * conf.d file from the latter, so both follow the same source of truth, and a resized instance
 * gets a new plan at its next deploy (its instance type is part of the deploy trigger).
 *
 * Why MemTotal and not the instance type: the stack does not know an instance type's memory at
 * synth time (only a plan-time data source would), and the kernel's figure is what is actually
 * there to share (a "2 GB" instance reports about 1.9 GiB).
 *
 * The plan, for MemTotal M and n app instances:
 *   PostgreSQL (local mode): shared_buffers M/8 (64–1024 MiB), maintenance_work_mem M/32
 *     (32–256 MiB), plus 128 MiB for its backends (two app pools, the backup, an admin);
 *     effective_cache_size M/2 is a planner hint, not memory it takes.
 *   The system (kernel, systemd, journald, sshd, apt, the deploy's kit): 256 MiB.
 *   Nginx: 64 MiB.   Headroom (page cache, a migration's Node.js process): M/10.
 *   Each app instance: what is left / n, rounded down to 32 MiB, at least 192 MiB (the API's
 *   peak RSS under the benchmark is ~140 MiB) and at most 4096 MiB.
 * E.g. 2 GiB: 512 MiB per instance; a 2 GB instance's ~1.9 GiB: 480 MiB; 4 GiB: 1280; 8 GiB: 2816.
 */

export const SYSTEM_RESERVE_MIB = 256;
export const NGINX_RESERVE_MIB = 64;
export const POSTGRES_BACKENDS_MIB = 128;
export const APP_MEMORY_MIN_MIB = 192;
export const APP_MEMORY_CAP_MIB = 4096;
/** The MemTotal the repository renders with when no server is at hand (tests, docs): 2 GiB. */
export const REFERENCE_MEM_TOTAL_MIB = 2048;

export interface PostgresMemory {
  sharedBuffersMiB: number;
  effectiveCacheMiB: number;
  maintenanceWorkMemMiB: number;
  /** What PostgreSQL takes: shared buffers, maintenance memory and its backends. */
  reservedMiB: number;
}

export interface MemoryPlan {
  memTotalMiB: number;
  instances: number;
  appMemoryMaxMiB: number;
  /** Whether appMemoryMaxMiB came from the stack's configuration rather than this plan. */
  appMemoryExplicit: boolean;
  postgres?: PostgresMemory;
  systemMiB: number;
  nginxMiB: number;
  headroomMiB: number;
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** MemTotal in MiB (rounded down, as todo-setup's shell arithmetic did) from /proc/meminfo's text. */
export function memTotalMiBOf(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(meminfo);
  if (!m) throw new Error("no MemTotal line in the memory information (/proc/meminfo)");
  return Math.floor(Number(m[1]) / 1024);
}

export function postgresMemory(memTotalMiB: number): PostgresMemory {
  const sharedBuffersMiB = clamp(Math.floor(memTotalMiB / 8), 64, 1024);
  const maintenanceWorkMemMiB = clamp(Math.floor(memTotalMiB / 32), 32, 256);
  return {
    sharedBuffersMiB,
    effectiveCacheMiB: Math.floor(memTotalMiB / 2),
    maintenanceWorkMemMiB,
    reservedMiB: sharedBuffersMiB + maintenanceWorkMemMiB + POSTGRES_BACKENDS_MIB,
  };
}

export function memoryPlan(
  memTotalMiB: number,
  server: { databaseMode: "local" | "rds"; instances: number; appMemoryMaxMiB?: number },
): MemoryPlan {
  if (!Number.isInteger(memTotalMiB) || memTotalMiB < 256)
    throw new Error(`MemTotal of ${memTotalMiB} MiB is not a server's memory`);
  const postgres = server.databaseMode === "local" ? postgresMemory(memTotalMiB) : undefined;
  const headroomMiB = Math.floor(memTotalMiB / 10);
  const left = memTotalMiB - SYSTEM_RESERVE_MIB - NGINX_RESERVE_MIB - (postgres?.reservedMiB ?? 0) - headroomMiB;
  const derived = clamp(Math.floor(left / server.instances / 32) * 32, APP_MEMORY_MIN_MIB, APP_MEMORY_CAP_MIB);
  return {
    memTotalMiB,
    instances: server.instances,
    appMemoryMaxMiB: server.appMemoryMaxMiB ?? derived,
    appMemoryExplicit: server.appMemoryMaxMiB !== undefined,
    ...(postgres ? { postgres } : {}),
    systemMiB: SYSTEM_RESERVE_MIB,
    nginxMiB: NGINX_RESERVE_MIB,
    headroomMiB,
  };
}

/** Everything the plan gives out (without the headroom): what must stay below MemTotal. */
export function plannedMiB(plan: MemoryPlan): number {
  return plan.instances * plan.appMemoryMaxMiB + (plan.postgres?.reservedMiB ?? 0) + plan.systemMiB + plan.nginxMiB;
}

/** /etc/todo-memory.conf: the plan as shell assignments (todo-setup reads PostgreSQL's from it). */
export function renderMemoryConf(plan: MemoryPlan): string {
  const lines = [
    "# This server's memory plan, derived by the release's server kit from MemTotal at the last deploy",
    "# (cloud-init/memory-budget.ts in the project). No secrets here.",
    `MEM_TOTAL_MIB='${plan.memTotalMiB}'`,
    `APP_MEMORY_MAX_MIB='${plan.appMemoryMaxMiB}'`,
    `APP_MEMORY_SOURCE='${plan.appMemoryExplicit ? "stack configuration" : "derived"}'`,
    `PLANNED_MIB='${plannedMiB(plan)}'`,
  ];
  if (plan.postgres) {
    lines.push(
      `PG_SHARED_BUFFERS_MIB='${plan.postgres.sharedBuffersMiB}'`,
      `PG_EFFECTIVE_CACHE_MIB='${plan.postgres.effectiveCacheMiB}'`,
      `PG_MAINTENANCE_WORK_MEM_MIB='${plan.postgres.maintenanceWorkMemMiB}'`,
    );
  }
  return `${lines.join("\n")}\n`;
}

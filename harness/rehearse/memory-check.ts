import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { RehearsalClient } from "./api.js";
import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";
import { startWriteTraffic } from "./write-traffic.js";

/** What a 2 GB server has: the budget the container's memory under traffic is measured against. */
const MEMORY_BUDGET_BYTES = 2 * 1024 ** 3;

export interface MemoryCheck {
  box: Container;
  api: RehearsalClient;
  log: StepLog;
  appName: string;
  /** The app instance whose unit's MemoryMax is read. */
  appPort: number;
  /** A logged-in user's token for the writing clients. */
  token: string;
}

/**
 * The memory plan the kit derived for this container (and the MemoryMax systemd applies), then the
 * container's unreclaimable memory under 8 writing clients for 15 s, next to a 2 GB server.
 */
export async function checkMemoryUnderTraffic({ box, api, log, appName, appPort, token }: MemoryCheck): Promise<void> {
  await log.check("the container's memory under traffic, next to a 2 GB server", async () => {
    // The memory plan the kit derived from this machine's MemTotal, and the limit systemd applies.
    const plan = await box.exec(
      `. /etc/todo-memory.conf; echo "$MEM_TOTAL_MIB $APP_MEMORY_MAX_MIB $APP_MEMORY_SOURCE"; systemctl show -p MemoryMax --value ${appName}@${appPort}`,
    );
    const [first = "", limit = ""] = plan.stdout.trim().split("\n");
    const [total, appMax, ...source] = first.split(" ");
    log.info(
      `memory plan: MemTotal ${total} MiB → app MemoryMax ${appMax} MiB per instance (${source.join(" ")}); ${appName}@${appPort} runs with MemoryMax=${limit} bytes; a 2 GiB server gets 512 MiB (docs/server.md, "Memory")`,
    );
    if (Number(limit) !== Number(appMax) * 1024 ** 2)
      throw new Error(`the unit's MemoryMax ${limit} is not the plan's ${appMax} MiB`);
    const cgroup = await containerCgroup(box);
    let peak = 0;
    const traffic = startWriteTraffic(api.baseUrl, token, { clients: 8, maxSeconds: 20 });
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      peak = Math.max(peak, await memoryCurrent(cgroup));
      await new Promise((r) => setTimeout(r, 500));
    }
    const report = await traffic.stop();
    const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
    log.info(
      `${cgroup}: anonymous + shared memory (page cache excluded; the cgroup also holds the rehearsal itself, so an upper bound) ${mib(peak)} at most under ${report.requests} requests in ${report.seconds.toFixed(1)} s (${report.failures} failed); budget ${mib(MEMORY_BUDGET_BYTES)} → ${((peak / MEMORY_BUDGET_BYTES) * 100).toFixed(0)} %`,
    );
    if (peak >= MEMORY_BUDGET_BYTES) throw new Error(`${mib(peak)} is over the 2 GB budget`);
  });
}

/**
 * The file with the container's memory use, seen from the host: PID 1's memory cgroup without the
 * payload/init.scope leaves; cgroup v1 (memory controller) or v2 (unified). The container runs
 * with --keep-unit --register=no, so that cgroup is the one the rehearsal itself runs in: the
 * figure also counts the rehearsal's own processes (and anything else started from the same
 * shell), an upper bound of the container's.
 */
async function containerCgroup(box: Container): Promise<string> {
  const lines = (await readFile(`/proc/${box.pid}/cgroup`, "utf8")).split("\n");
  const leafless = (p: string) => {
    while (/\/(init\.scope|payload)$/.test(p)) p = p.replace(/\/[^/]+$/, "");
    return p;
  };
  const v1 = lines.find((l) => /^\d+:memory:/.test(l));
  if (v1) {
    const file = `/sys/fs/cgroup/memory${leafless(v1.replace(/^\d+:memory:/, "").trim())}/memory.usage_in_bytes`;
    if (existsSync(file)) return file;
  }
  const v2 = lines.find((l) => l.startsWith("0::"));
  const file = `/sys/fs/cgroup${leafless((v2 ?? "0::/").slice(3).trim())}/memory.current`;
  if (!existsSync(file)) throw new Error(`no memory accounting file for the container (tried ${file})`);
  return file;
}

/**
 * Memory the container's processes hold and the kernel cannot reclaim: anonymous memory (Node.js
 * heaps, PostgreSQL backends) plus shared memory (PostgreSQL's shared buffers). Page cache is
 * left out, active or not: in a container on a large host the overlay's writes and apt's
 * downloads fill gigabytes of it, which a 2 GB server would give back under pressure (the usage
 * minus the inactive cache measured 1.2–3.4 GiB from run to run here, for the same workload).
 */
async function memoryCurrent(file: string): Promise<number> {
  const stat = await readFile(file.replace(/memory\.(usage_in_bytes|current)$/, "memory.stat"), "utf8");
  const value = (...keys: string[]) => {
    for (const key of keys) {
      const m = new RegExp(`^${key} (\\d+)$`, "m").exec(stat);
      if (m) return Number(m[1]);
    }
    throw new Error(`memory.stat has none of ${keys.join(", ")}`);
  };
  // cgroup v1 (total_* include the container's child cgroups) or v2 (hierarchical already).
  return value("total_rss", "anon") + value("total_shmem", "shmem");
}

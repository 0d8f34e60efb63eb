import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { MachineCgroup } from "../support/machine-cgroup.js";
import { type Classify, memoryByRole, PeakMemory, type ProcessInfo } from "../support/process-memory.js";
import type { PartFigures } from "./sweep.js";
import { processCpuOf } from "./sweep.js";

/**
 * How the sweep measures a part of what it loads during one run: the peak PSS of its processes by
 * role (sampled every 500 ms, as the rehearsal measures a server's own memory) and the CPU time it
 * used. A part is a sized machine (its cgroups list its processes and count its CPU) or a lone
 * process with its children (the load balancer).
 */
export type PartMeter = () => Promise<(seconds: number) => Promise<PartFigures>>;

/** Each process's own CPU seconds so far, with its role; processes that exit are left out. */
async function cpuOfProcesses(pids: number[], classify: Classify): Promise<Map<number, { role: string; cpu: number }>> {
  const out = new Map<number, { role: string; cpu: number }>();
  await Promise.all(
    pids.map(async (pid) => {
      try {
        const [comm, cgroup, stat] = await Promise.all([
          readFile(`/proc/${pid}/comm`, "utf8"),
          readFile(`/proc/${pid}/cgroup`, "utf8"),
          readFile(`/proc/${pid}/stat`, "utf8"),
        ]);
        const unified = cgroup.split("\n").find((l) => l.startsWith("0::")) ?? "0::/";
        const info: ProcessInfo = { pid, comm: comm.trim(), unifiedCgroup: unified.slice(3).trim() };
        const role = classify(info);
        if (role !== undefined) out.set(pid, { role, cpu: processCpuOf(stat).own });
      } catch {
        // exited while being read
      }
    }),
  );
  return out;
}

/**
 * CPU cores by role between two readings: the CPU of the processes alive at the end, less what
 * they had at the start (a process started in between counts whole). A process that exited in
 * between is missing, so the roles add up to at most the machine's own count: a split of it.
 */
export function cpuByRole(
  before: Map<number, { role: string; cpu: number }>,
  after: Map<number, { role: string; cpu: number }>,
  seconds: number,
): Record<string, number> {
  const cores: Record<string, number> = {};
  for (const [pid, { role, cpu }] of after) {
    const used = cpu - (before.get(pid)?.cpu ?? 0);
    cores[role] = (cores[role] ?? 0) + Math.max(0, used) / seconds;
  }
  return cores;
}

export function sampledMeter(
  pids: () => Promise<number[]>,
  classify: Classify,
  cpuSeconds: () => Promise<number>,
  cpuClassify: Classify = classify,
): PartMeter {
  return async () => {
    const peak = new PeakMemory();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak.add(await memoryByRole(await pids(), classify));
        await sleep(500);
      }
    })();
    const processesBefore = await cpuOfProcesses(await pids(), cpuClassify);
    const before = await cpuSeconds();
    return async (seconds) => {
      sampling = false;
      const used = (await cpuSeconds()) - before;
      const processesAfter = await cpuOfProcesses(await pids(), cpuClassify);
      await sampler;
      return {
        cpuCores: used / seconds,
        memory: { ...peak.peak },
        cpuByRole: cpuByRole(processesBefore, processesAfter, seconds),
      };
    };
  };
}

/** Everything inside a machine's cgroups (a sized container, the bench's server, RDS). */
export function machineMeter(machine: MachineCgroup, classify: Classify, cpuClassify: Classify = classify): PartMeter {
  return sampledMeter(
    () => machine.pids(),
    classify,
    () => machine.cpuSeconds(),
    cpuClassify,
  );
}

/** A server's roles, with its journal apart from the rest of the system: what logging costs. */
export function withJournal(classify: Classify): Classify {
  return (p) => {
    const role = classify(p);
    return role === "system" && p.comm === "systemd-journal" ? "journald" : role;
  };
}

/** A process and its children (HAProxy: one process); CPU of the children it reaped included. */
export function processTreeMeter(pid: number, classify: Classify): PartMeter {
  const tree = async () => {
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
    return [pid, ...children.trim().split(/\s+/).filter(Boolean).map(Number)];
  };
  const cpu = async () => {
    let seconds = 0;
    for (const p of await tree()) {
      const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => undefined);
      if (!stat) continue;
      const { own, children } = processCpuOf(stat);
      seconds += own + (p === pid ? children : 0);
    }
    return seconds;
  };
  return sampledMeter(tree, classify, cpu);
}

import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { MachineCgroup } from "../support/machine-cgroup.js";
import { type Classify, memoryByRole, PeakMemory } from "../support/process-memory.js";
import type { PartFigures } from "./sweep.js";
import { processCpuOf } from "./sweep.js";

/**
 * How the sweep measures a part of what it loads during one run: the peak PSS of its processes by
 * role (sampled every 500 ms, as the rehearsal measures a server's own memory) and the CPU time it
 * used. A part is a sized machine (its cgroups list its processes and count its CPU) or a lone
 * process with its children (the load balancer).
 */
export type PartMeter = () => Promise<(seconds: number) => Promise<PartFigures>>;

export function sampledMeter(
  pids: () => Promise<number[]>,
  classify: Classify,
  cpuSeconds: () => Promise<number>,
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
    const before = await cpuSeconds();
    return async (seconds) => {
      sampling = false;
      const used = (await cpuSeconds()) - before;
      await sampler;
      return { cpuCores: used / seconds, memory: { ...peak.peak } };
    };
  };
}

/** Everything inside a machine's cgroups (a sized container, the bench's server, RDS). */
export function machineMeter(machine: MachineCgroup, classify: Classify): PartMeter {
  return sampledMeter(
    () => machine.pids(),
    classify,
    () => machine.cpuSeconds(),
  );
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

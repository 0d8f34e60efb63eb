import { readFileSync } from "node:fs";
import type { LevelRun, PartRun } from "./capacity-table.js";
import type { LoadResult } from "./wrk.js";

/**
 * The capacity sweep shared by every topology the bench loads (`--nginx`, `--cluster`): every
 * round runs every concurrency level once per target, rising in even rounds and falling in odd
 * ones (so drift over time favours neither end), and at each level the targets take turns going
 * first. With two targets (a one-server and a two-server setup, both standing) the runs of the two
 * are interleaved A/B, so the machine's noise falls on both alike.
 */
export interface SweepSettings {
  levels: number[];
  rounds: number;
  /** Seconds per run. */
  duration: number;
}

/** BENCH_LEVELS, BENCH_ROUNDS and BENCH_DURATION, checked; the defaults are the documented sweep. */
export function sweepSettings(env: Record<string, string | undefined>): SweepSettings {
  const levels = (env.BENCH_LEVELS ?? "1,2,4,8,16,32,64,128").split(",").map(Number);
  if (levels.length === 0 || levels.some((c) => !Number.isInteger(c) || c < 1))
    throw new Error("BENCH_LEVELS: whole numbers from 1, e.g. 1,2,4,8");
  const rounds = Number(env.BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error("BENCH_ROUNDS: a whole number from 1, e.g. 3");
  const duration = Number(env.BENCH_DURATION ?? 10);
  if (!Number.isInteger(duration) || duration < 1)
    throw new Error("BENCH_DURATION: whole seconds per run, from 1, e.g. 10");
  return { levels, rounds, duration };
}

export interface SweepStep {
  round: number;
  connections: number;
  target: string;
}

/** Every run of the sweep, in the order it is run. */
export function sweepOrder(settings: SweepSettings, targets: string[]): SweepStep[] {
  const steps: SweepStep[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? settings.levels : [...settings.levels].reverse();
    order.forEach((connections, i) => {
      const turn = (round + i) % 2 === 0 ? targets : [...targets].reverse();
      for (const target of turn) steps.push({ round, connections, target });
    });
  }
  return steps;
}

/**
 * What one part of a target (a server, the database) did during a run: CPU time per second of
 * the run in cores, peak PSS by role in bytes (with "total"), and the CPU split by role from the
 * processes' own counts.
 */
export type PartFigures = PartRun;

/** Starts measuring for one run; the function it returns ends it, CPU taken over `seconds`. */
export type Meter = () => Promise<(seconds: number) => Promise<RunFigures>>;

export interface RunFigures {
  cpuByRole?: Record<string, number>;
  /** The CPU of what the user would pay for (servers and database), in cores. */
  cpuCores: number;
  /** Peak PSS by role over the target's servers, bytes, with "total". */
  memory: Record<string, number>;
  /** Each part on its own (the cluster's servers, RDS, the load balancer). */
  parts?: Record<string, PartFigures>;
}

export interface SweepTarget {
  name: string;
  load(connections: number, seconds: number): Promise<LoadResult>;
  meter: Meter;
}

const TICKS_PER_SECOND = 100; // USER_HZ of /proc/stat and /proc/PID/stat on Linux

/** Busy and total CPU time of the whole host, in seconds (the first line of /proc/stat). */
export function hostCpuOf(procStat: string): { busy: number; total: number } {
  const fields = (procStat.split("\n")[0] ?? "").trim().split(/\s+/);
  if (fields[0] !== "cpu") throw new Error("/proc/stat does not start with the cpu line");
  const ticks = fields.slice(1, 9).map(Number);
  const total = ticks.reduce((s, t) => s + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** A process's own CPU time and that of the children it has waited for, in seconds (/proc/PID/stat). */
export function processCpuOf(procPidStat: string): { own: number; children: number } {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
  const rest = procPidStat.slice(procPidStat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime are fields 14–17, i.e. 12–15 counted from the state (field 3).
  const ticks = rest.slice(11, 15).map(Number);
  if (ticks.length < 4 || ticks.some((t) => !Number.isInteger(t))) throw new Error("not a /proc/PID/stat line");
  const [utime, stime, cutime, cstime] = ticks as [number, number, number, number];
  return { own: (utime + stime) / TICKS_PER_SECOND, children: (cutime + cstime) / TICKS_PER_SECOND };
}

export interface SweepResult {
  runs: Record<string, LevelRun[]>;
  /** The host's 1-minute load average after each run: the figures are only as quiet as the machine. */
  loads: number[];
}

/**
 * Runs the sweep. Besides each target's own figures, every run records the whole host's busy
 * cores and wrk's (this process's waited-for children: wrk is the only one during a run).
 */
export async function sweep(
  targets: SweepTarget[],
  settings: SweepSettings,
  report: (target: string, round: number, run: LevelRun) => void,
): Promise<SweepResult> {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const runs: Record<string, LevelRun[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
  const loads: number[] = [];
  for (const step of sweepOrder(settings, [...byName.keys()])) {
    const target = byName.get(step.target)!;
    const stop = await target.meter();
    const hostBefore = hostCpuOf(readFileSync("/proc/stat", "utf8"));
    const wrkBefore = processCpuOf(readFileSync("/proc/self/stat", "utf8")).children;
    let result: LoadResult;
    try {
      result = await target.load(step.connections, settings.duration);
    } catch (error) {
      await stop(settings.duration);
      throw error;
    }
    const seconds = result.requests / result.requestsPerSecond;
    const hostAfter = hostCpuOf(readFileSync("/proc/stat", "utf8"));
    const wrkCores = (processCpuOf(readFileSync("/proc/self/stat", "utf8")).children - wrkBefore) / seconds;
    const figures = await stop(seconds);
    const run: LevelRun = {
      ...result,
      connections: step.connections,
      ...figures,
      host: { busyCores: (hostAfter.busy - hostBefore.busy) / seconds, wrkCores },
    };
    runs[step.target]!.push(run);
    loads.push(Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
    report(step.target, step.round, run);
  }
  return { runs, loads };
}

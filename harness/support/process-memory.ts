import { readFile } from "node:fs/promises";

/**
 * A server's own memory, summed over its processes: the proportional set size (PSS) of each, so a
 * page shared by several processes (PostgreSQL's shared buffers, Node.js's code pages) counts once
 * in the total, shared out among them. Grouped by what the process is (the app instances,
 * PostgreSQL, Nginx, the rest of the system), from its systemd unit or its command name.
 */
export interface ProcessInfo {
  pid: number;
  /** /proc/PID/comm */
  comm: string;
  /** The process's cgroup v2 path (the "0::" line of /proc/PID/cgroup): its systemd unit inside. */
  unifiedCgroup: string;
}

/** The group a process counts in, or undefined to leave it out (e.g. the container's supervisor). */
export type Classify = (process: ProcessInfo) => string | undefined;

/** PSS in bytes from /proc/PID/smaps_rollup. */
export function pssBytesOf(smapsRollup: string): number {
  const m = /^Pss:\s+(\d+) kB$/m.exec(smapsRollup);
  if (!m) throw new Error("smaps_rollup has no Pss line");
  return Number(m[1]) * 1024;
}

/** What a process of a server is, from its unit (a booted server) or else its command name. */
export function serverRole(appName: string): Classify {
  return ({ comm, unifiedCgroup }) => {
    if (comm === "systemd-nspawn") return undefined; // the host's side of the container, not the server
    const unit = unifiedCgroup.split("/").find((part) => /\.(service|scope)$/.test(part)) ?? "";
    // Node.js 24 names its main thread, so its processes show "MainThread" rather than "node".
    if (unit.startsWith(`${appName}@`) || (!unit && (comm === "node" || comm === "MainThread"))) return "app instances";
    if (unit.startsWith("postgresql") || (!unit && comm === "postgres")) return "PostgreSQL";
    if (unit === "nginx.service" || (!unit && comm === "nginx")) return "Nginx";
    return "system";
  };
}

async function describe(pid: number): Promise<(ProcessInfo & { pss: number }) | undefined> {
  try {
    const [comm, cgroup, rollup] = await Promise.all([
      readFile(`/proc/${pid}/comm`, "utf8"),
      readFile(`/proc/${pid}/cgroup`, "utf8"),
      readFile(`/proc/${pid}/smaps_rollup`, "utf8"),
    ]);
    const unified = cgroup.split("\n").find((l) => l.startsWith("0::")) ?? "0::/";
    // Kernel threads have an empty smaps_rollup: no memory of their own.
    const pss = rollup.trim() ? pssBytesOf(rollup) : 0;
    return { pid, comm: comm.trim(), unifiedCgroup: unified.slice(3).trim(), pss };
  } catch {
    return undefined; // exited while being read
  }
}

/** PSS bytes per group (and "total") of the given processes. */
export async function memoryByRole(pids: number[], classify: Classify): Promise<Record<string, number>> {
  const sums: Record<string, number> = { total: 0 };
  for (const info of await Promise.all(pids.map(describe))) {
    if (!info) continue;
    const role = classify(info);
    if (role === undefined) continue;
    sums[role] = (sums[role] ?? 0) + info.pss;
    sums.total! += info.pss;
  }
  return sums;
}

/** Keeps, per group, the largest figure seen: samples taken while a load runs. */
export class PeakMemory {
  readonly peak: Record<string, number> = {};

  add(sample: Record<string, number>): void {
    for (const [role, bytes] of Object.entries(sample)) this.peak[role] = Math.max(this.peak[role] ?? 0, bytes);
  }

  /** "total 812 MiB (app instances 2×… 300, PostgreSQL 250, Nginx 12, system 250)" */
  format(): string {
    const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
    const parts = Object.entries(this.peak)
      .filter(([role]) => role !== "total")
      .sort(([, a], [, b]) => b - a)
      .map(([role, bytes]) => `${role} ${mib(bytes)}`);
    return `${mib(this.peak.total ?? 0)} (${parts.join(", ")}; each group's peak)`;
  }
}

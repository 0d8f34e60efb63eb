import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A machine's size as cgroup limits on this host: what makes a container (the rehearsal server) or
 * a group of processes (the bench's server) "a 2 vCPU / 2 GiB ECS instance" on a bigger host.
 *
 * The project's machines have the hybrid layout (the controllers on cgroup v1, an empty unified
 * hierarchy, no systemd as PID 1), so there is no systemd to ask for a scope with `MemoryMax=` and
 * `CPUQuota=` (nspawn's --property= needs one): the limits are written to v1 cgroups directly,
 * `memory.limit_in_bytes` in a child of this process's own memory cgroup and `cpu.cfs_quota_us`
 * (2 CPUs = 200 ms per 100 ms period) in a child of its cpu cgroup; a cpuacct child counts the CPU
 * time used inside (on a busy host, how much of its 2 CPUs the "machine" actually got). Processes enter them through
 * `wrap()`, before they exec, so everything they start is inside from the first byte.
 * On a host without v1 memory and cpu hierarchies `create` refuses with a clear message.
 */
export interface MachineSize {
  cpus: number;
  memoryMiB: number;
}

/** The instance type the rehearsal server and the capacity bench stand for: 2 vCPU, 2 GiB. */
export const ECS_2C2G: MachineSize = { cpus: 2, memoryMiB: 2048 };

const V1_ROOT = "/sys/fs/cgroup";
const PERIOD_US = 100_000;

async function ownV1Path(controller: string): Promise<string> {
  const lines = (await readFile("/proc/self/cgroup", "utf8")).split("\n");
  const line = lines.find((l) => l.split(":")[1]?.split(",").includes(controller));
  if (!line) throw new Error(`no cgroup v1 "${controller}" hierarchy on this host`);
  return line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1).trim();
}

export class MachineCgroup {
  private constructor(
    readonly size: MachineSize,
    /** The memory cgroup's folder (memory.stat, cgroup.procs, memory.max_usage_in_bytes). */
    readonly memoryDir: string,
    readonly cpuDir: string,
    /** cpuacct: the CPU time the processes inside used (cpuacct.usage). */
    readonly cpuacctDir: string,
  ) {}

  static async create(name: string, size: MachineSize): Promise<MachineCgroup> {
    const needed = ["memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "cpuacct/cpuacct.usage"];
    if (!needed.every((file) => existsSync(join(V1_ROOT, file))))
      throw new Error(
        `sizing a machine needs the cgroup v1 memory, cpu and cpuacct hierarchies under ${V1_ROOT} (not all are on this host): run it where they are, or without the size`,
      );
    const memoryDir = join(V1_ROOT, "memory", await ownV1Path("memory"), name);
    const cpuDir = join(V1_ROOT, "cpu", await ownV1Path("cpu"), name);
    const cpuacctDir = join(V1_ROOT, "cpuacct", await ownV1Path("cpuacct"), name);
    for (const dir of [memoryDir, cpuDir, cpuacctDir]) await mkdir(dir, { recursive: true });
    const bytes = String(size.memoryMiB * 1024 ** 2);
    await writeFile(join(memoryDir, "memory.limit_in_bytes"), bytes);
    // With swap accounting, the same figure for memory + swap: an ECS instance has no swap device.
    if (existsSync(join(memoryDir, "memory.memsw.limit_in_bytes")))
      await writeFile(join(memoryDir, "memory.memsw.limit_in_bytes"), bytes);
    await writeFile(join(cpuDir, "cpu.cfs_period_us"), String(PERIOD_US));
    await writeFile(join(cpuDir, "cpu.cfs_quota_us"), String(size.cpus * PERIOD_US));
    return new MachineCgroup(size, memoryDir, cpuDir, cpuacctDir);
  }

  /** A command line that joins the three cgroups, then execs `command` (its PID stays the shell's). */
  wrap(command: string, args: string[]): { command: string; args: string[] } {
    const script = 'for d in "$1" "$2" "$3"; do echo $$ >"$d/cgroup.procs" || exit 125; done; shift 3; exec "$@"';
    return {
      command: "sh",
      args: ["-c", script, "machine-cgroup", this.memoryDir, this.cpuDir, this.cpuacctDir, command, ...args],
    };
  }

  /** Moves running processes in (what they allocate from now on counts here; v1 leaves older pages behind). */
  async adopt(pids: number[]): Promise<void> {
    for (const pid of pids)
      for (const dir of [this.memoryDir, this.cpuDir, this.cpuacctDir])
        await writeFile(join(dir, "cgroup.procs"), String(pid));
  }

  describe(): string {
    return `${this.size.cpus} vCPU / ${this.size.memoryMiB} MiB: cgroup v1 memory.limit_in_bytes ${this.size.memoryMiB} MiB, cpu.cfs_quota_us ${this.size.cpus * PERIOD_US} per ${PERIOD_US} (${this.memoryDir})`;
  }

  /** The processes inside (every thread group of the memory cgroup, children included). */
  async pids(): Promise<number[]> {
    const text = await readFile(join(this.memoryDir, "cgroup.procs"), "utf8");
    return text.split("\n").filter(Boolean).map(Number);
  }

  /** Unreclaimable memory of everything inside: anonymous + shared (page cache left out), bytes. */
  async unreclaimableBytes(): Promise<number> {
    return unreclaimableOf(await readFile(join(this.memoryDir, "memory.stat"), "utf8"));
  }

  /** CPU time used inside so far, in seconds (of all CPUs together). */
  async cpuSeconds(): Promise<number> {
    return Number(await readFile(join(this.cpuacctDir, "cpuacct.usage"), "utf8")) / 1e9;
  }

  /** Removes the cgroups once their processes are gone (waits up to 10 s for them to exit). */
  async remove(): Promise<void> {
    for (const dir of [this.memoryDir, this.cpuDir, this.cpuacctDir]) {
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") break;
          if (attempt >= 40) throw error;
          await sleep(250);
        }
      }
    }
  }
}

/** total_rss + total_shmem of a v1 memory.stat (hierarchical), or anon + shmem of a v2 one. */
export function unreclaimableOf(memoryStat: string): number {
  const value = (...keys: string[]) => {
    for (const key of keys) {
      const m = new RegExp(`^${key} (\\d+)$`, "m").exec(memoryStat);
      if (m) return Number(m[1]);
    }
    throw new Error(`memory.stat has none of ${keys.join(", ")}`);
  };
  return value("total_rss", "anon") + value("total_shmem", "shmem");
}

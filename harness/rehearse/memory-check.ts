import { memoryByRole, PeakMemory, serverRole } from "../support/process-memory.js";
import type { RehearsalClient } from "./api.js";
import type { Container } from "./container.js";
import type { StepLog } from "./steps.js";
import { startWriteTraffic } from "./write-traffic.js";

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
 * server's own memory under 8 writing clients for 15 s: the PSS of its processes, by what they are
 * (app instances, PostgreSQL, Nginx, the rest of the system), and the unreclaimable memory of the
 * container's cgroup, against the memory of the instance type it stands for.
 */
export async function checkMemoryUnderTraffic({ box, api, log, appName, appPort, token }: MemoryCheck): Promise<void> {
  await log.check("the server's own memory under traffic, on a 2 vCPU / 2 GiB machine", async () => {
    const machine = box.machine;
    if (!machine) throw new Error("the rehearsal server runs without a size (ContainerOptions.size)");
    log.info(`the container: ${machine.describe()}`);
    // The memory plan the kit derived from this machine's memory, and the limit systemd applies.
    const plan = await box.exec(
      `. /etc/todo-memory.conf; echo "$MEM_TOTAL_MIB $APP_MEMORY_MAX_MIB $APP_MEMORY_SOURCE"; systemctl show -p MemoryMax --value ${appName}@${appPort}; grep MemTotal /proc/meminfo`,
    );
    const [first = "", limit = "", meminfo = ""] = plan.stdout.trim().split("\n");
    const [total, appMax, ...source] = first.split(" ");
    log.info(
      `memory plan: ${total} MiB (the host's ${meminfo.replace(/\s+/g, " ")} in /proc/meminfo) → app MemoryMax ${appMax} MiB per instance (${source.join(" ")}); ${appName}@${appPort} runs with MemoryMax=${limit} bytes; a 2 GiB server gets 512 MiB (docs/server.md, "Memory")`,
    );
    if (Number(total) !== machine.size.memoryMiB)
      throw new Error(`the kit planned for ${total} MiB, not the container's ${machine.size.memoryMiB} MiB`);
    if (Number(limit) !== Number(appMax) * 1024 ** 2)
      throw new Error(`the unit's MemoryMax ${limit} is not the plan's ${appMax} MiB`);
    const processes = new PeakMemory();
    let cgroupPeak = 0;
    const traffic = startWriteTraffic(api.baseUrl, token, { clients: 8, maxSeconds: 20 });
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      processes.add(await memoryByRole(await machine.pids(), serverRole(appName)));
      cgroupPeak = Math.max(cgroupPeak, await machine.unreclaimableBytes());
      await new Promise((r) => setTimeout(r, 500));
    }
    const report = await traffic.stop();
    const budget = machine.size.memoryMiB * 1024 ** 2;
    const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
    const own = processes.peak.total ?? 0;
    const figure =
      `server memory under ${report.requests} writes in ${report.seconds.toFixed(1)} s (${report.failures} failed): ` +
      `its processes (PSS) ${processes.format()} = ${((own / budget) * 100).toFixed(0)} % of ${mib(budget)}; ` +
      `the container's cgroup (anonymous + shared, page cache excluded) ${mib(cgroupPeak)}`;
    log.figure(figure);
    if (own >= budget) throw new Error(`${mib(own)} is over the ${mib(budget)} the server has`);
  });
}

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Cleanup } from "../rehearse/cleanup.js";
import { ensureNodeMirror, mirrorNodeOf } from "../rehearse/node-mirror.js";
import { preflight } from "../rehearse/preflight.js";
import { baseRelease } from "../rehearse/releases.js";
import { debian12, ensureRootfs } from "../rehearse/rootfs.js";
import { StepLog } from "../rehearse/steps.js";
import { nodeMajorOf, rehearsalCloudInitOptions } from "../rehearse/user-data.js";
import { clusterPreflight } from "../rehearse/cluster/scenario.js";
import { ClusterWorld } from "../rehearse/cluster/world.js";
import { ECS_2C2G, MachineCgroup, type MachineSize } from "../support/machine-cgroup.js";
import { serverRole } from "../support/process-memory.js";
import { machineMeter, type PartMeter, processTreeMeter, withJournal } from "./meters.js";
import { mixLoad } from "./mix-load.js";
import { postgresProcesses, type BenchTarget } from "./single-server.js";
import type { PartFigures, RunFigures } from "./sweep.js";

/**
 * The two-server cluster the capacity bench loads: the cluster rehearsal's world (world.ts), built
 * from the synthesized cluster stack exactly as `npm run rehearse` builds it — VPC and NAT, "RDS",
 * the bastion and two app servers booted from their user data, the deploy step applied by
 * Terraform through the bastion, HAProxy standing in for the CLB — with each app server a
 * 2 vCPU / 2 GiB machine (cgroup limits; the kit plans its memory for 2 GiB) and RDS in cgroups of
 * the size its node spec names. The load goes to the CLB's address.
 */
const APP_NAME = "todo-api";

/** The CPUs and memory an RDS node spec names: "rds.postgres.1c2g" → 1 vCPU, 2,048 MiB. */
export function rdsNodeSize(nodeSpec: string): MachineSize {
  const m = /^rds\.postgres\.(\d+)c(\d+)g$/.exec(nodeSpec);
  if (!m) throw new Error(`RDS node spec ${nodeSpec} does not name its CPUs and memory (like rds.postgres.1c2g)`);
  return { cpus: Number(m[1]), memoryMiB: Number(m[2]) * 1024 };
}

/** The HAProxy whose configuration is `config` (the one the world started), by its command line. */
function haproxyPid(config: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (cmdline[0]?.endsWith("haproxy") && cmdline.includes(config)) return Number(entry);
    } catch {
      // exited while being read
    }
  }
  throw new Error(`no HAProxy running with ${config}`);
}

/** Meters every part, together: the figures of one run of the whole cluster. */
function clusterMeter(parts: Record<string, PartMeter>, paidFor: string[], servers: string[]) {
  return async () => {
    const ends = await Promise.all(Object.entries(parts).map(async ([name, meter]) => [name, await meter()] as const));
    return async (seconds: number): Promise<RunFigures> => {
      const figures: Record<string, PartFigures> = {};
      for (const [name, end] of ends) figures[name] = await end(seconds);
      const memory: Record<string, number> = {};
      for (const name of servers)
        for (const [role, bytes] of Object.entries(figures[name]!.memory)) memory[role] = (memory[role] ?? 0) + bytes;
      const cpuCores = paidFor.reduce((sum, name) => sum + figures[name]!.cpuCores, 0);
      return { cpuCores, memory, parts: figures };
    };
  };
}

/** Builds the cluster; what it builds is undone by `cleanup` (as it goes, so even when interrupted). */
export async function startClusterServers(
  name: string,
  accounts: number,
  workDir: string,
  cleanup: Cleanup,
): Promise<BenchTarget> {
  const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
  const rehearsalWork = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
  const id = randomBytes(2).toString("hex");
  const log = new StepLog();
  await log.step("preflight (the rehearsal's and the cluster's)", async () => {
    await preflight();
    await clusterPreflight();
  });
  const planned = rehearsalCloudInitOptions("http://mirror.invalid");
  const [rootfs, mirror] = await log.step("Debian 12 image and Node.js mirror", () =>
    Promise.all([ensureRootfs(cacheDir, debian12, log), ensureNodeMirror(cacheDir, nodeMajorOf(planned), log)]),
  );
  const runDir = join(rehearsalWork, `bench-cluster-${id}`);
  await mkdir(runDir, { recursive: true });
  cleanup.add(`work directory ${runDir}`, () => rm(runDir, { recursive: true, force: true }));
  const release = await log.step("the release", () => baseRelease((message) => log.info(message)));
  const world = new ClusterWorld({
    log,
    cleanup,
    id,
    runDir: join(runDir, "cluster"),
    rootfs: rootfs.path,
    aptCacheDir: join(cacheDir, "apt-archives"),
    mirrorDir: mirror.dir,
    node: await mirrorNodeOf(mirror),
    cloudInitTimeoutMs: Number(process.env.REHEARSAL_CLOUD_INIT_TIMEOUT_S ?? 900) * 1000,
    serverSize: ECS_2C2G,
  });
  await log.step("VPC, NAT, the synthesized cluster stack, RDS", async () => {
    await world.createNetwork();
    await world.synth(release, 2);
    await world.createSubnetsAndRds();
  });
  await log.step("bastion and two 2 vCPU / 2 GiB app servers boot from their user data", () =>
    world.bootMachines([1, 2]),
  );
  await log.step("the deploy step (Terraform through the bastion); the servers join the CLB", async () => {
    await world.deploy();
    await world.syncLoadBalancer();
    for (const server of world.servers) await world.lb.waitForState(server.name, "UP", 60_000);
  });
  // Seeding registers and logs in every account from this one address: lift the per-address
  // limits of those routes on each server, as the one-server bench does. The mix never calls
  // them; the per-account limits stay at production's defaults.
  await log.step("lift the per-address limits of registration and login (seeding only)", async () => {
    for (const server of world.servers) {
      await server.box.exec(
        "for k in RATE_LIMIT_PER_MINUTE PASSWORD_RATE_LIMIT_PER_MINUTE; do printf %s 100000 | todo-release set-env $k || exit 1; done; todo-release restart",
        { timeoutMs: 180_000 },
      );
      await world.lb.waitForState(server.name, "UP", 60_000);
    }
  });

  const nodeSpec = String(
    (Object.values(world.stack.tf.resource?.volcengine_rds_postgresql_instance ?? {})[0] as { node_spec?: string })
      ?.node_spec,
  );
  const rdsSize = rdsNodeSize(nodeSpec);
  const rdsMachine = await MachineCgroup.create(`todo-bench-rds-${id}`, rdsSize);
  // Cleanup runs last-in, first-out, so RDS still runs when its cgroups go: hand its processes
  // back to the cgroups they came from first.
  cleanup.add("RDS's cgroups", async () => {
    for (const dir of [rdsMachine.memoryDir, rdsMachine.cpuDir, rdsMachine.cpuacctDir]) {
      for (const pid of (await readFile(join(dir, "cgroup.procs"), "utf8")).split("\n").filter(Boolean))
        await writeFile(join(dirname(dir), "cgroup.procs"), pid).catch(() => undefined);
    }
    await rdsMachine.remove();
  });
  // The postmaster and what runs now; backends forked later start inside.
  await rdsMachine.adopt(postgresProcesses(world.rds.dataDir));

  const load = await log.step(`seed ${accounts} accounts of 20 todos through the CLB`, () =>
    mixLoad(world.apiUrl, accounts, workDir),
  );
  const parts: Record<string, PartMeter> = {};
  const serverNames: string[] = [];
  for (const server of world.servers) {
    if (!server.box.machine) throw new Error(`${server.name} runs without a size`);
    parts[server.name] = machineMeter(server.box.machine, serverRole(APP_NAME), withJournal(serverRole(APP_NAME)));
    serverNames.push(server.name);
  }
  parts.RDS = machineMeter(rdsMachine, serverRole(APP_NAME));
  parts["load balancer"] = processTreeMeter(haproxyPid(join(world.o.runDir, "lb", "haproxy.cfg")), () => "HAProxy");
  const first = world.servers[0]!;
  // The app's Node.js, as the server runs it: the executable of one of its node processes.
  const nodePid = (await first.box.machine!.pids()).find((pid) =>
    ["node", "MainThread"].includes(readFileSync(`/proc/${pid}/comm`, "utf8").trim()),
  );
  const nodeExe = nodePid ? await readlink(`/proc/${nodePid}/exe`) : "node";
  const plan = await first.box.exec(
    `. /etc/todo-memory.conf; echo "$MEM_TOTAL_MIB MiB planned, app MemoryMax $APP_MEMORY_MAX_MIB MiB per instance; Node.js $(${nodeExe} --version) (${nodeExe})"`,
  );
  return {
    name,
    url: world.apiUrl,
    load,
    meter: clusterMeter(parts, [...serverNames, "RDS"], serverNames),
    software: `node ${(/v\d+\.\d+\.\d+/.exec(plan.stdout) ?? ["?"])[0]}, RDS: PostgreSQL (${nodeSpec})`,
    notes: [
      `servers: ${world.servers.map((s) => `${s.name} ${s.box.machine!.describe()}`).join("; ")}`,
      `the kit on ${first.name}: ${plan.stdout.trim()}`,
      `RDS: this host's PostgreSQL in its own namespace (rds.ts), in cgroups sized as its node spec ${nodeSpec}: ${rdsMachine.describe()}`,
      `CLB: HAProxy (load-balancer.ts), ${world.stack.listener.scheduler} → leastconn, in its own namespace, not sized`,
    ],
  };
}

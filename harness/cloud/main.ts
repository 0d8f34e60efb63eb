/**
 * `npm run rehearse:cloud [-- --no-boot] [--topology single|cluster] [--boot-only] [--variant <id>] [--no-change] [--repo <checkout>] [--strip-descriptions] [--answers k=v,…|--answer-sets] [--record <file.jsonl>|<dir>]`
 *
 * The stack's own lifecycle against the local Volcengine (harness/cloud/rehearse-cloud.ts). First,
 * the booted environments (boot-scenario.ts): the single server (its instance booted as the
 * rehearsal's container, ecs-booter.ts), then the cluster (its servers in the stand-in's VPC with
 * NAT egress, the bastion's EIP, HAProxy as the CLB and PostgreSQL as RDS, vpc-networks.ts).
 * `terraform apply` boots them from the user data the provider sent and the stack's deploy step
 * SSHes in; the smoke test passes at the public address (EIP or CLB); a plan right after shows no
 * change; a new release re-runs the deploy steps only, under traffic that must not fail; destroy
 * leaves no resource, container or network. Then the record-only environments (single-local,
 * single-rds, cluster) with their owner changes. This entry point joins the emulator (stdlib only)
 * to the rehearsal's machinery (root, nspawn); nothing imports it.
 * `--no-boot` (or `--variant <id>`) runs the record-only environments only (no root needed);
 * `--topology` boots one topology; `--boot-only` skips the record-only environments.
 */
import { rehearseCloud } from "./rehearse-cloud.js";
import type { Topology } from "./boot-scenario.js";
import { bootChecks } from "./boot-checks.js";
import { EcsBooter } from "./ecs-booter.js";
import { preflight } from "../rehearse/preflight.js";
import { StepLog } from "../rehearse/steps.js";
import { VpcNetworks } from "./vpc-networks.js";

const argv = process.argv.slice(2);
const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";

async function main(): Promise<number> {
  // --variant picks one record-only environment: nothing boots.
  if (argv.includes("--no-boot") || argv.includes("--variant") || !process.env.VOLCENGINE_PROVIDER_MIRROR)
    return rehearseCloud({ argv });
  const chosen = argv.includes("--topology") ? argv[argv.indexOf("--topology") + 1] : undefined;
  if (chosen !== undefined && chosen !== "single" && chosen !== "cluster") {
    console.error(`--topology ${chosen}: single or cluster`);
    return 2;
  }
  const topologies: Topology[] = chosen ? [chosen] : ["single", "cluster"];
  const log = new StepLog();
  await log.step("preflight (root, nspawn, ip, nft)", () => preflight());
  const networks = new VpcNetworks({ workDir, log });
  const booters = topologies.map((topology) => ({
    topology,
    booter: new EcsBooter({ cacheDir, workDir, log, networks: topology === "cluster" ? networks : undefined }),
  }));
  const removeAll = async () => {
    for (const { booter } of booters) await booter.removeAll();
    await networks.removeAll();
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: removing the servers…\n`);
      void removeAll().finally(() => process.exit(130));
    });
  }
  try {
    // One after the other: the first fills the caches (image, Node.js) the second then finds.
    await log.step("Debian 12 image and the pinned Node.js (cached)", async () => {
      for (const { booter } of booters) await booter.prepare();
    });
    const code = await rehearseCloud({
      argv,
      boots: booters.map(({ topology, booter }) => ({
        topology,
        booter,
        network: topology === "cluster" ? networks : undefined,
        ...bootChecks(topology, booter, log, topology === "cluster" ? networks : undefined),
      })),
    });
    return code === 0 && log.failed.length === 0 ? 0 : code || 1;
  } finally {
    await removeAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

process.exitCode = await main();

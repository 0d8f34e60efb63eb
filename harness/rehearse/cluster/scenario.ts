import { randomBytes } from "node:crypto";
import { RehearsalClient } from "../api.js";
import { REHEARSAL_MIGRATION, type Release } from "../releases.js";
import { releaseStatus, waitFor } from "../server-checks.js";
import { run } from "../shell.js";
import { runSmokeTest } from "../smoke-test.js";
import { expectSharedBudgetAndClientAddress } from "./client-address.js";
import { TrafficFigures } from "./measure.js";
import { FleetReach } from "./fleet-reach.js";
import { runAutoScaling } from "./fleet-scenario.js";
import { runScaling } from "./scaling.js";
import { runServerLoss } from "./server-loss.js";
import { ClusterWorld, type ClusterOptions } from "./world.js";

/**
 * The cluster's life under write traffic through the load balancer: the first deploy and a smoke
 * test, the database's allowlist, a rolling release (0 failed requests), a release with a
 * migration (run once, by the first server), the backup job on the first server only, one
 * client's rate limit across servers and its address as the app sees it, a server leaving
 * (server-loss.ts), scaling 2 → 3 → 2 (scaling.ts), and auto scaling (fleet-scenario.ts;
 * REHEARSAL_SKIP_AUTO_SCALING=1 leaves it out). Each traffic scenario reports requests, failures and p99.
 */
export interface ClusterReleases {
  base: Release;
  second: Release;
  migrating: Release;
  /** The release after `migrating` (a marker added), which auto scaling rolls out to the fleet. */
  fleet: Release;
}

export async function runClusterScenario(o: ClusterOptions, releases: ClusterReleases): Promise<void> {
  const world = new ClusterWorld(o);
  try {
    await scenario(world, o, releases);
  } catch (error) {
    process.stdout.write(`\n${await world.diagnostics()}\n`);
    throw error;
  }
}

/** What the cluster needs on this machine besides the single server's tools (preflight.ts). */
export async function clusterPreflight(): Promise<void> {
  const needs: Record<string, string> = {
    haproxy: "haproxy",
    "ssh-keygen": "openssh-client",
    psql: "postgresql-client",
    openssl: "openssl (the run's CA for Volcengine's endpoint names)",
    [process.env.TERRAFORM_BINARY_NAME || "terraform"]: "Terraform (or OpenTofu with TERRAFORM_BINARY_NAME)",
  };
  const missing: string[] = [];
  for (const [command, source] of Object.entries(needs)) {
    const found = await run("sh", ["-c", 'command -v "$1"', "sh", command], { allowFailure: true });
    if (found.code !== 0) missing.push(`${command} (${source})`);
  }
  if (missing.length > 0) throw new Error(`the cluster rehearsal needs: ${missing.join(", ")}`);
}

async function scenario(world: ClusterWorld, o: ClusterOptions, releases: ClusterReleases): Promise<void> {
  const { log } = o;
  const autoScaling = !process.env.REHEARSAL_SKIP_AUTO_SCALING;
  let reach: FleetReach | undefined;

  await log.step("cluster: VPC, NAT gateway, the synthesized stack, RDS with its allowlist", async () => {
    await clusterPreflight();
    await world.createNetwork();
    const stack = await world.synth(releases.base, 2);
    if (autoScaling) reach = await FleetReach.prepare(world);
    await world.createSubnetsAndRds();
    log.info(
      `${stack.name}: subnets ${stack.subnets.join(", ")}; RDS ${world.rds.address} (database ` +
        `${stack.rds.databaseName}, account ${stack.rds.accountName}, allowlist ${stack.rds.allowList.join(", ")})`,
    );
    log.info(
      `listener :${stack.listener.port} ${stack.listener.scheduler}, health check ${JSON.stringify(stack.listener.healthCheck)}`,
    );
  });

  await log.step("cluster: bastion and two app servers boot from the synthesized user data (through the NAT)", () =>
    world.bootMachines([1, 2]),
  );

  const expectReleaseEverywhere = async (release: Release) => {
    for (const server of world.servers) {
      const status = await releaseStatus(server.box);
      if (status.current !== release.hash)
        throw new Error(`${server.name}: current release ${status.current}, expected ${release.hash}`);
    }
    log.info(`every server runs ${release.hash}`);
  };

  await log.step("cluster: first deploy (Terraform, SSH through the bastion), servers join the CLB", async () => {
    const output = await world.deploy();
    log.info(
      output
        .split("\n")
        .filter((l) => /Creation complete|Apply complete|applied |already up to date/.test(l))
        .join("\n"),
    );
    await expectReleaseEverywhere(releases.base);
    await world.syncLoadBalancer();
    for (const server of world.servers) {
      const ms = await world.lb.waitForState(server.name, "UP", 60_000);
      log.info(`${server.name} UP in the load balancer after ${ms} ms`);
    }
  });

  const api = new RehearsalClient(world.apiUrl);
  await log.check("cluster: smoke test through the CLB (HAProxy) and Nginx", () => runSmokeTest(world.apiUrl, log));

  await log.check(
    "cluster: RDS refuses a host outside its allowlist, the servers connect with the password",
    async () => {
      const outsider = await world.vpc.attach("outsider", "172.16.3.10");
      const url = world.rds.url;
      const refused = await run("ip", ["netns", "exec", outsider.namespace, "psql", url, "-XAtc", "select 1"], {
        allowFailure: true,
        cwd: "/",
      });
      log.info(`from 172.16.3.10 (the load balancer's subnet, not in the allowlist): ${refused.output.trim()}`);
      if (refused.code === 0 || !/no pg_hba\.conf entry/.test(refused.output))
        throw new Error("a host outside the allowlist was not refused by RDS");
      const sessions = await world.rds.sql(
        "select string_agg(distinct host(client_addr), ', ') from pg_stat_activity where client_addr is not null",
      );
      log.info(`sessions on RDS from: ${sessions}`);
      for (const server of world.servers) {
        if (!sessions.includes(server.address)) throw new Error(`no session from ${server.name} (${server.address})`);
      }
    },
  );

  const user = { username: `cluster_${o.id}`, password: `Cluster-${randomBytes(6).toString("hex")}` };
  await api.register(user.username, user.password);
  const token = await api.login(user.username, user.password);

  const traffic = new TrafficFigures(world.apiUrl, token, log);

  // REHEARSAL_ONLY_AUTO_SCALING=1 (for working on auto scaling): from the first deploy straight to it.
  const only = Boolean(process.env.REHEARSAL_ONLY_AUTO_SCALING) && reach !== undefined;
  if (!only) await releasesAndLosses(world, o, releases, traffic, expectReleaseEverywhere);
  const fleetReleases = only
    ? { current: releases.base, next: releases.second }
    : { current: releases.migrating, next: releases.fleet };
  if (reach) {
    await runAutoScaling(world, reach, fleetReleases, traffic, log);
    await reach.stopFollowing();
  }

  await waitFor(async () => (await api.request("GET", "/readyz")).status === 200, 30_000, "/readyz through the CLB");
  log.info(`cluster figures (6 writing clients through the CLB):\n${traffic.lines.join("\n")}`);
}

/** The fixed cluster's releases, backups, shared rate limit, server loss and scaling by count. */
async function releasesAndLosses(
  world: ClusterWorld,
  o: ClusterOptions,
  releases: ClusterReleases,
  traffic: TrafficFigures,
  expectReleaseEverywhere: (release: Release) => Promise<void>,
): Promise<void> {
  const { log } = o;
  await log.check("cluster: rolling release under write traffic through the CLB (0 failed)", () =>
    traffic
      .measure("rolling release", async () => {
        await world.synth(releases.second, 2);
        await world.deploy();
        await expectReleaseEverywhere(releases.second);
      })
      .then(() => undefined),
  );

  await log.check("cluster: a release with a migration under write traffic; the migration runs once", () =>
    traffic
      .measure("release with a migration", async () => {
        await world.synth(releases.migrating, 2);
        const output = await world.deploy();
        await expectReleaseEverywhere(releases.migrating);
        const applied = output.split("\n").filter((l) => l.includes(`applied ${REHEARSAL_MIGRATION}`));
        const upToDate = output.split("\n").filter((l) => l.includes("already up to date"));
        for (const line of [...applied, ...upToDate]) log.info(line.trim());
        if (applied.length !== 1 || !applied[0]!.includes("server-1"))
          throw new Error(`${REHEARSAL_MIGRATION} was applied ${applied.length} times (expected once, by server 1)`);
        if (upToDate.length !== world.servers.length - 1)
          throw new Error("the other servers did not find the database up to date");
        const rows = await world.rds.sql(
          `\\c ${world.stack.rds.databaseName}\nselect count(*) from kysely_migration where name = '${REHEARSAL_MIGRATION}'`,
        );
        log.info(`kysely_migration rows for ${REHEARSAL_MIGRATION}: ${rows}`);
      })
      .then(() => undefined),
  );

  await log.check("cluster: the backup job runs on the first server only", async () => {
    for (const server of world.servers) {
      const enabled = await server.box.exec("systemctl is-enabled todo-api-backup.timer", { allowFailure: true });
      const state = enabled.stdout.trim() || "absent";
      log.info(`${server.name}: todo-api-backup.timer ${state}`);
      const wanted = server.index === 1;
      if ((state === "enabled") !== wanted)
        throw new Error(`${server.name}: the backup timer is ${state}, expected ${wanted ? "enabled" : "not enabled"}`);
    }
  });

  await log.check(
    "cluster: one client's rate-limit budget is shared by every server; the app sees the client's address",
    () => expectSharedBudgetAndClientAddress(world, log),
  );

  await runServerLoss(world, traffic, log);
  await runScaling(world, releases.migrating, traffic, log);
}

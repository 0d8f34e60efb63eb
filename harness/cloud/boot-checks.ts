import { existsSync } from "node:fs";
import { join } from "node:path";
import { findPostgresBin } from "../support/pg-cluster.js";
import { RehearsalClient } from "../rehearse/api.js";
import { waitForCloudInit } from "../rehearse/cloud-init-wait.js";
import type { Container } from "../rehearse/container.js";
import { run } from "../rehearse/shell.js";
import { runSmokeTest } from "../rehearse/smoke-test.js";
import type { StepLog } from "../rehearse/steps.js";
import { describeReport, startWriteTraffic } from "../rehearse/write-traffic.js";
import type { BootHooks, Topology } from "./boot-scenario.js";
import type { EcsBooter } from "./ecs-booter.js";
import type { VpcNetworks } from "./vpc-networks.js";

/** The release todo-release switched to (cloud-init/bin/todo-release: /opt/<app>/current). */
const CURRENT_RELEASE = "/opt/todo-api/current";

/**
 * What rehearse:cloud checks on the booted servers of one topology (boot-scenario.ts calls these
 * hooks): every machine's first boot, the key pair's key, the smoke test at the public address
 * (the EIP, or the CLB's address through HAProxy to the servers, with RDS behind them), the same
 * servers running the new release under traffic, and nothing left after destroy.
 */
export function bootChecks(
  topology: Topology,
  booter: EcsBooter,
  log: StepLog,
  networks?: VpcNetworks,
): Omit<BootHooks, "topology" | "booter"> {
  const machines = () =>
    booter.held.flatMap((id) => {
      const box = booter.container(id);
      return box ? [{ id, box, app: (booter.request(id)?.userData ?? "") !== "" }] : [];
    });
  /** The app servers (the bastion has no user data). */
  const servers = (): { id: string; box: Container }[] => {
    const found = machines().filter((m) => m.app);
    if (found.length === 0)
      throw new Error(`no server was booted${booter.failures.length ? `: ${booter.failures.join("; ")}` : ""}`);
    return found;
  };
  const failures = () => [...booter.failures, ...(networks?.failures ?? [])];

  return {
    afterApply: async (address) =>
      (await log.check("cloud-init's first boot finished without errors (every machine)", async () => {
        for (const m of machines())
          log.info(`${m.id}: ${(await waitForCloudInit(m.box, 600_000, () => undefined)).detail}`);
      })) &&
      (await log.check(`the key pair's key let the deploy step in (root's authorized_keys)`, async () => {
        for (const m of machines()) {
          const keys = (await m.box.exec("cat /root/.ssh/authorized_keys")).stdout.trim();
          if (!/^ssh-ed25519 \S+ local-cloud$/m.test(keys)) throw new Error(`${m.id} authorized_keys: ${keys}`);
        }
      })) &&
      (topology === "single" ||
        (await log.check("the CLB's health checks find every member of the server group UP", async () => {
          const states = await networks?.firstForwarder()?.haproxy?.states();
          log.info(JSON.stringify(states));
          const members = Object.values(states ?? {});
          if (members.length !== servers().length || members.some((s) => s !== "UP"))
            throw new Error(`members: ${JSON.stringify(states)}`);
        }))) &&
      (await log.check(`smoke test at the public address (http://${address})`, () =>
        runSmokeTest(`http://${address}`, log),
      )) &&
      (topology === "single" ||
        (await log.check(
          "RDS: sessions from every server at the endpoint; a client outside the allowlist is refused",
          async () => {
            const db = await networks?.firstDatabase();
            if (!db) throw new Error("no PostgreSQL stands for the RDS instance");
            const clients = (
              await db.rds.pg.sql(
                "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE client_addr IS NOT NULL;",
              )
            )
              .split("\n")
              .filter(Boolean);
            const addresses = servers().map((s) => booter.request(s.id)!.network.privateIpAddress);
            log.info(`sessions from ${clients.join(", ")}; servers at ${addresses.join(", ")}`);
            if (addresses.some((a) => !clients.includes(a))) throw new Error("a server has no session in RDS");
            const bin = findPostgresBin();
            const psql = bin && existsSync(join(bin, "psql")) ? join(bin, "psql") : "psql";
            const refused = await run(
              "ip",
              [
                "netns",
                "exec",
                db.outsider,
                psql,
                `host=${db.rds.pg.address} user=todo_app dbname=todo password=x connect_timeout=5`,
                "-c",
                "select 1",
              ],
              { allowFailure: true },
            );
            log.info(`from the load balancer's namespace (100.64.0.2): ${refused.output.trim()}`);
            if (refused.code === 0 || !/no pg_hba\.conf entry/.test(refused.output))
              throw new Error("not refused by the allowlist");
          },
        ))),
    duringChange: async (address) => {
      // The same servers must still be there afterwards: same boot, same cloud-init instance.
      const bootIds = () =>
        Promise.all(
          servers().map(async (s) => {
            const r = await s.box.exec("cat /proc/sys/kernel/random/boot_id /var/lib/cloud/data/instance-id");
            return `${s.id} ${s.box.pid} ${r.stdout.trim()}`;
          }),
        );
      const before = await bootIds();
      const api = new RehearsalClient(`http://${address}`);
      const user = `cloud${Date.now().toString(36)}`;
      await api.register(user, "rehearsal-password-1");
      const traffic = startWriteTraffic(api.baseUrl, await api.login(user, "rehearsal-password-1"), {
        clients: 4,
        maxSeconds: 900,
      });
      return async () => {
        const report = await traffic.stop();
        return (
          (await log.check(`the API kept serving during the deploy (write traffic at ${address})`, async () => {
            log.info(describeReport(report));
            if (report.failures > 0 || report.requests === 0)
              throw new Error(`${report.failures} of ${report.requests} requests failed`);
          })) &&
          (await log.check("no server was rebooted or replaced, and each runs the new release", async () => {
            const after = await bootIds();
            if (after.join("\n") !== before.join("\n"))
              throw new Error(`booted again:\n${before.join("\n")}\n→\n${after.join("\n")}`);
            for (const s of servers()) {
              const version = (await s.box.exec(`cat ${CURRENT_RELEASE}/package.json`)).stdout;
              if (!version.includes("-local.1")) throw new Error(`${s.id} does not run the new release: ${version}`);
              log.info(`${s.id}: same boot (PID 1 = ${s.box.pid}); current release ${JSON.parse(version).version}`);
            }
          }))
        );
      };
    },
    afterDestroy: () =>
      log.check("the containers, their networks, HAProxy and PostgreSQL are gone", async () => {
        await booter.settled();
        await networks?.settled();
        const left = [...booter.held, ...(await booter.leftovers()), ...((await networks?.leftovers()) ?? [])];
        if (left.length > 0) throw new Error(`still there: ${left.join(", ")}`);
        if (failures().length > 0) throw new Error(`booter failures: ${failures().join("; ")}`);
        log.info(
          [...booter.events, ...(networks?.events ?? [])]
            .sort((a, b) => a.at - b.at)
            .map(
              (e) =>
                `${new Date(e.at).toISOString().slice(11, 19)} ${"instanceId" in e ? `${e.instanceId} ` : ""}${e.what}`,
            )
            .join("\n"),
        );
      }),
    diagnose: async () => {
      for (const m of machines()) log.info(`----- ${m.id}\n${await m.box.diagnostics()}`);
      if (failures().length) log.info(`booter failures: ${failures().join("; ")}`);
    },
  };
}

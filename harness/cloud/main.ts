/**
 * `npm run rehearse:cloud [-- --no-boot] [--variant <id>] [--no-change] [--repo <checkout>] [--strip-descriptions] [--answers k=v,…|--answer-sets] [--record <file.jsonl>|<dir>]`
 *
 * The stack's own lifecycle against the local Volcengine (harness/cloud/rehearse-cloud.ts). First,
 * with the ECS instance booted as the rehearsal's container (ecs-booter.ts): `terraform apply`
 * boots it from the user data the provider sent and the stack's deploy step SSHes in through the
 * EIP with the key pair's key; the smoke test passes through the EIP; a plan right after shows no
 * change; a new release re-runs the deploy step only, under traffic that must not fail; destroy
 * leaves no resource, container or network. Then the record-only environments (single-local,
 * single-rds, cluster) with their owner changes. This entry point joins the emulator (stdlib only)
 * to the rehearsal's machinery (root, nspawn); nothing imports it.
 * `--no-boot` (or `--variant <id>`) runs the record-only environments only (no root needed).
 */
import { rehearseCloud } from "./rehearse-cloud.js";
import { RehearsalClient } from "../rehearse/api.js";
import { waitForCloudInit } from "../rehearse/cloud-init-wait.js";
import { EcsBooter } from "./ecs-booter.js";
import { preflight } from "../rehearse/preflight.js";
import { runSmokeTest } from "../rehearse/smoke-test.js";
import { StepLog } from "../rehearse/steps.js";
import { describeReport, startWriteTraffic } from "../rehearse/write-traffic.js";

const argv = process.argv.slice(2);
const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
/** The release todo-release switched to (cloud-init/bin/todo-release: /opt/<app>/current). */
const CURRENT_RELEASE = "/opt/todo-api/current";

async function main(): Promise<number> {
  // --variant picks one record-only environment: nothing boots.
  if (argv.includes("--no-boot") || argv.includes("--variant") || !process.env.VOLCENGINE_PROVIDER_MIRROR)
    return rehearseCloud({ argv });
  const log = new StepLog();
  await log.step("preflight (root, nspawn, ip, nft)", () => preflight());
  const booter = new EcsBooter({ cacheDir, workDir, log });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: removing the servers…\n`);
      void booter.removeAll().finally(() => process.exit(130));
    });
  }
  try {
    await log.step("Debian 12 image and the pinned Node.js (cached)", () => booter.prepare());
    const server = () => {
      const box = booter.held.map((id) => booter.container(id)).find((c) => c !== undefined);
      if (!box)
        throw new Error(`no server was booted${booter.failures.length ? `: ${booter.failures.join("; ")}` : ""}`);
      return box;
    };
    const code = await rehearseCloud({
      argv,
      booter,
      afterApply: async (eip) =>
        (await log.check("cloud-init's first boot finished without errors", async () => {
          log.info((await waitForCloudInit(server(), 600_000, () => undefined)).detail);
        })) &&
        (await log.check(`the key pair's key let the deploy step in (root's authorized_keys)`, async () => {
          const keys = (await server().exec("cat /root/.ssh/authorized_keys")).stdout.trim();
          if (!/^ssh-ed25519 \S+ local-cloud$/m.test(keys)) throw new Error(`authorized_keys: ${keys}`);
          log.info(keys.replace(/ (\S{12})\S+ /, " $1… "));
        })) &&
        (await log.check(`smoke test through the EIP (http://${eip})`, () => runSmokeTest(`http://${eip}`, log))),
      duringChange: async (eip) => {
        // The same server must still be there afterwards: same boot, same cloud-init instance.
        const bootId = () =>
          server()
            .exec("cat /proc/sys/kernel/random/boot_id /var/lib/cloud/data/instance-id")
            .then((r) => r.stdout);
        const before = await bootId();
        const pid1 = server().pid;
        const api = new RehearsalClient(`http://${eip}`);
        const user = `cloud${Date.now().toString(36)}`;
        await api.register(user, "rehearsal-password-1");
        const traffic = startWriteTraffic(api.baseUrl, await api.login(user, "rehearsal-password-1"), {
          clients: 4,
          maxSeconds: 900,
        });
        return async () => {
          const report = await traffic.stop();
          return (
            (await log.check("the API kept serving during the deploy (write traffic through the EIP)", async () => {
              log.info(describeReport(report));
              if (report.failures > 0 || report.requests === 0)
                throw new Error(`${report.failures} of ${report.requests} requests failed`);
            })) &&
            (await log.check("the server was not rebooted or replaced, and runs the new release", async () => {
              if ((await bootId()) !== before || server().pid !== pid1) throw new Error("the server was booted again");
              const version = (await server().exec(`cat ${CURRENT_RELEASE}/package.json`)).stdout;
              if (!version.includes("-local.1")) throw new Error(`the current release is not the new one: ${version}`);
              log.info(`same boot (PID 1 = ${pid1}); current release ${JSON.parse(version).version}`);
            }))
          );
        };
      },
      afterDestroy: () =>
        log.check("the container and its network are gone", async () => {
          await booter.settled();
          const left = [...booter.held, ...(await booter.leftovers())];
          if (left.length > 0) throw new Error(`still there: ${left.join(", ")}`);
          if (booter.failures.length > 0) throw new Error(`booter failures: ${booter.failures.join("; ")}`);
          log.info(
            booter.events
              .map((e) => `${new Date(e.at).toISOString().slice(11, 19)} ${e.instanceId} ${e.what}`)
              .join("\n"),
          );
        }),
      diagnose: async () => {
        const box = booter.held.map((id) => booter.container(id)).find((c) => c !== undefined);
        if (box) log.info(await box.diagnostics());
        if (booter.failures.length) log.info(`booter failures: ${booter.failures.join("; ")}`);
      },
    });
    return code === 0 && log.failed.length === 0 ? 0 : code || 1;
  } finally {
    await booter.removeAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

process.exitCode = await main();

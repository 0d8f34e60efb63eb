/**
 * `npm run rehearse`: boots the project's real user data on a fresh Debian 12 system in a
 * systemd-nspawn container on this machine, delivers releases with the server's own release
 * command, and drives the API through Nginx. Prints every step with its duration; on failure,
 * the logs that explain it; always cleans up what it created. See docs/rehearsal.md.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { RehearsalClient } from "./api.js";
import { Cleanup } from "./cleanup.js";
import { waitForCloudInit } from "./cloud-init-wait.js";
import { Container } from "./container.js";
import { createPrivateNetwork } from "./network.js";
import { ensureNodeMirror, serveMirror } from "./node-mirror.js";
import { preflight } from "./preflight.js";
import { baseRelease, variantRelease, type Release } from "./releases.js";
import { debian12, ensureRootfs } from "./rootfs.js";
import {
  expectActive,
  expectServerAsDocumented,
  expectSetupIdempotent,
  expectSystemRunning,
  releaseStatus,
} from "./server-checks.js";
import { runSmokeTest } from "./smoke-test.js";
import { StepLog } from "./steps.js";
import { startTraffic, type TrafficReport } from "./traffic.js";
import { appNameOf, appPortsOf, nodeMajorOf, rehearsalCloudInitOptions, rehearsalUserData } from "./user-data.js";

const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
const cloudInitTimeoutMs = Number(process.env.REHEARSAL_CLOUD_INIT_TIMEOUT_S ?? 900) * 1000;
const id = randomBytes(2).toString("hex");
const subnet = process.env.REHEARSAL_SUBNET ?? `10.213.${randomBytes(1)[0]! & 0xfc}`;
// What the rendered user data installs and configures, read from the same options it is rendered from.
const plannedOptions = rehearsalCloudInitOptions("http://mirror.invalid");
const nodeMajor = nodeMajorOf(plannedOptions);
const appPorts = appPortsOf(plannedOptions);
const appName = appNameOf(plannedOptions);

async function main(): Promise<number> {
  const log = new StepLog();
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers(() => process.stdout.write(`\nSteps (interrupted):\n${log.summary()}\n`));
  let container: Container | undefined;
  try {
    await log.step("preflight", () => preflight());
    // Independent (one is mostly downloads and dpkg, the other npm and xz): built side by side.
    const [rootfs, mirror] = await log.step(
      `Debian 12 image (debootstrap + cloud-init) and Node.js ${nodeMajor} mirror (npm registry)`,
      () =>
        Promise.all([
          ensureRootfs(cacheDir, debian12, log, process.argv.includes("--rebuild-rootfs")),
          ensureNodeMirror(cacheDir, nodeMajor, log),
        ]),
    );
    const runDir = join(workDir, `run-${id}`);
    await mkdir(runDir, { recursive: true });
    cleanup.add(`work directory ${runDir}`, () => rm(runDir, { recursive: true, force: true }));
    const buildLog: string[] = [];
    // Built while the server boots (it needs nothing from it); awaited before the first deploy.
    const releasesBuilt = (async () => {
      const quiet = (message: string) => void buildLog.push(message);
      const base = await baseRelease(quiet);
      const second = await variantRelease(base, join(runDir, "releases"), "second", quiet);
      const broken = await variantRelease(base, join(runDir, "releases"), "exits-at-start", quiet);
      return { base, second, broken };
    })();
    releasesBuilt.catch(() => undefined); // reported where it is awaited
    const network = await log.step("private network (netns + veth + NAT)", async () => {
      const net = await createPrivateNetwork(id, subnet, cleanup);
      log.info(`host ${net.hostAddress}, container ${net.containerAddress}`);
      return net;
    });
    const mirrorServer = await log.step("serve the mirror on the host end of the veth", async () => {
      const server = await serveMirror(mirror.dir, network.hostAddress, 8080);
      cleanup.add("mirror server", () => server.close());
      log.info(`${server.url} (v${mirror.version})`);
      return server;
    });
    const userData = await log.step("render the user data", async () => {
      const data = await rehearsalUserData(mirrorServer.url);
      log.info(`${data.source}: ${Buffer.byteLength(data.text)} bytes`);
      return data;
    });

    const box = new Container(
      {
        name: `todo-rehearsal-${id}`,
        runDir,
        lowerDir: rootfs.path,
        network,
        aptCacheDir: join(cacheDir, "apt-archives"),
      },
      cleanup,
    );
    container = box;
    await log.step("boot the container; cloud-init runs the user data", async () => {
      await box.prepare();
      await box.writeSeed(userData.text, `rehearsal-${id}`, "todo-rehearsal");
      await box.boot();
      const result = await waitForCloudInit(box, cloudInitTimeoutMs, (line) => log.info(`│ ${line}`));
      log.info(result.detail);
      await expectSystemRunning(box, log);
    });
    await log.step("Node.js came from the mirror, verified", async () => {
      const fetched = mirrorServer.requests.filter((r) => r.status === 200).map((r) => r.path);
      log.info(`mirror requests: ${mirrorServer.requests.map((r) => `${r.status} ${r.path}`).join(", ") || "none"}`);
      if (!fetched.some((p) => p.includes(`node-v${mirror.version}-linux-x64.tar`))) {
        throw new Error("the server did not download the Node.js tarball from the configured mirror");
      }
      const version = (await box.exec("node --version")).stdout.trim();
      if (version !== `v${mirror.version}`) throw new Error(`node --version is ${version}, expected v${mirror.version}`);
      log.info(`node ${version}`);
    });

    const deploy = async (release: Release) => {
      // The stack's deploy step uploads the tarball and runs this command over SSH; here the
      // tarball is copied into the container's file system and the command runs via nsenter.
      const inside = `/var/tmp/${basename(release.path)}`;
      await copyFile(release.path, join(box.root, inside));
      const result = await box.exec(`/usr/local/sbin/todo-release deploy ${inside}`, {
        allowFailure: true,
        timeoutMs: 600_000,
      });
      log.info(result.output.trim());
      return result;
    };
    const expectCurrent = async (hash: string) => {
      const status = await releaseStatus(box);
      log.info(status.text);
      if (status.current !== hash) throw new Error(`todo-release status: current is ${status.current}, expected ${hash}`);
    };
    const api = new RehearsalClient(`http://${network.containerAddress}`);

    const releases = await log.step("the release (built during the boot) and its variants", async () => {
      const built = await releasesBuilt.finally(() => buildLog.forEach((line) => log.info(line)));
      log.info(`release ${built.base.hash} (${built.base.path})`);
      log.info(`second release ${built.second.hash}; release whose server exits at start ${built.broken.hash}`);
      return built;
    });
    await log.step(`deploy release ${releases.base.hash} with todo-release`, async () => {
      const result = await deploy(releases.base);
      if (result.code !== 0) throw new Error(`todo-release deploy exited ${result.code}`);
      await expectCurrent(releases.base.hash);
      await expectActive(box, appPorts.map((p) => `${appName}@${p}`));
    });
    await log.step("through Nginx on port 80: /healthz and /readyz", async () => {
      for (const path of ["/healthz", "/readyz"]) {
        const body = await api.expect(200, "GET", path);
        log.info(`GET ${api.baseUrl}${path} → 200 ${JSON.stringify(body)}`);
      }
    });
    await log.check("smoke test through Nginx (register, login, CRUD, refresh, logout)", () =>
      runSmokeTest(api.baseUrl, log),
    );

    await log.check("the server as documented (listeners, env file, service user, SCRAM, no leaked secret)", () =>
      expectServerAsDocumented(box, appName, log),
    );
    await log.check("todo-setup run again changes nothing", async () => {
      await expectSetupIdempotent(box, appName, log);
      await api.expect(200, "GET", "/readyz");
    });

    const user = { username: `rehearsal_${id}`, password: `Rehearsal-${randomBytes(6).toString("hex")}` };
    const todoTitle = `written before the reboot (${id})`;
    const data = await log.step("leave data on the server for the later checks", async () => {
      await api.register(user.username, user.password);
      const token = await api.login(user.username, user.password);
      const todoId = await api.createTodo(token, todoTitle);
      log.info(`user ${user.username}, todo ${todoId}`);
      return { token, todoId };
    });

    const underTraffic = async (body: () => Promise<void>): Promise<TrafficReport> => {
      const traffic = startTraffic(api.baseUrl, data.token);
      const outcome = await body().then(
        () => undefined,
        (error: unknown) => error,
      );
      const report = await traffic.stop();
      log.info(
        `traffic: ${report.requests} requests in ${report.seconds.toFixed(1)} s, ${report.failures} failed` +
          (report.samples.length ? `\n${report.samples.join("\n")}` : ""),
      );
      if (outcome !== undefined) throw outcome;
      return report;
    };

    await log.check(`rolling deploy of release ${releases.second.hash} under continuous traffic`, async () => {
      const report = await underTraffic(async () => {
        const result = await deploy(releases.second);
        if (result.code !== 0) throw new Error(`todo-release deploy exited ${result.code}`);
      });
      await expectCurrent(releases.second.hash);
      if (report.requests < 50) throw new Error(`only ${report.requests} requests were made during the deploy`);
      if (report.failures > 0) {
        log.info(await nginxFailures(box));
        throw new Error(`${report.failures} requests failed during the rolling restart`);
      }
    });

    await log.check(`release ${releases.broken.hash} fails its health check and is rolled back`, async () => {
      const report = await underTraffic(async () => {
        const result = await deploy(releases.broken);
        if (result.code === 0) throw new Error("todo-release deploy of a release that cannot start succeeded");
        if (!/rolled back/.test(result.output)) throw new Error("todo-release did not report a rollback");
      });
      await expectCurrent(releases.second.hash);
      await api.expect(200, "GET", "/readyz");
      if (report.failures > 0) {
        log.info(await nginxFailures(box));
        throw new Error(`${report.failures} requests failed while the broken release was tried`);
      }
    });

    await log.check("todo-release rollback under continuous traffic", async () => {
      const report = await underTraffic(async () => {
        const result = await box.exec("/usr/local/sbin/todo-release rollback", { allowFailure: true, timeoutMs: 300_000 });
        log.info(result.output.trim());
        if (result.code !== 0) throw new Error(`todo-release rollback exited ${result.code}`);
      });
      await expectCurrent(releases.base.hash);
      if (report.failures > 0) {
        log.info(await nginxFailures(box));
        throw new Error(`${report.failures} requests failed during the rollback`);
      }
    });

    await log.check("restart the server: services come back by themselves, data survives", async () => {
      const before = await releaseStatus(box);
      await box.poweroff();
      await box.boot();
      await expectSystemRunning(box, log);
      await expectActive(box, ["nginx", "postgresql", `${appName}-backup.timer`, ...appPorts.map((p) => `${appName}@${p}`)]);
      await api.expect(200, "GET", "/readyz");
      const token = await api.login(user.username, user.password);
      const title = await api.todoTitle(token, data.todoId);
      if (title !== todoTitle) throw new Error(`todo ${data.todoId} after the reboot: ${JSON.stringify(title)}`);
      await expectCurrent(before.current);
      log.info(`todo ${data.todoId} is still there: "${title}"`);
    });

    await log.check("backup service, then restore", async () => {
      await box.exec(`systemctl start ${appName}-backup.service`, { timeoutMs: 120_000 });
      const dumps = (await box.exec(`ls -l /var/backups/${appName}/`)).stdout.trim();
      log.info(dumps);
      if (!/\.dump\b/.test(dumps)) throw new Error("the backup service wrote no dump");
      const token = await api.login(user.username, user.password);
      await api.expect(204, "DELETE", `/api/v1/todos/${data.todoId}`, { token });
      if ((await api.todoTitle(token, data.todoId)) !== undefined) throw new Error("the todo was not deleted");
      const restore = await box.exec("/usr/local/sbin/todo-restore latest", { timeoutMs: 180_000 });
      log.info(restore.output.trim());
      await expectActive(box, appPorts.map((p) => `${appName}@${p}`));
      await waitFor(() => api.request("GET", "/readyz").then((r) => r.status === 200), 60_000, "/readyz after the restore");
      const title = await api.todoTitle(token, data.todoId);
      if (title !== todoTitle) throw new Error(`todo ${data.todoId} after the restore: ${JSON.stringify(title)}`);
      log.info(`todo ${data.todoId} is back after the restore`);
    });
    if (log.failed.length > 0) {
      throw new Error(`${log.failed.length} check(s) failed: ${log.failed.map((r) => r.name).join("; ")}`);
    }
    process.stdout.write("\nREHEARSAL PASSED\n");
    return 0;
  } catch (error) {
    process.stdout.write(`\nREHEARSAL FAILED: ${(error as Error).message}\n`);
    let report = `${(error as Error).stack}\n`;
    if (container) {
      const diagnostics = await container.diagnostics().catch((e: Error) => `(no diagnostics: ${e.message})`);
      process.stdout.write(`\n${diagnostics}\n`);
      report += `\n${diagnostics}\n`;
    }
    if (container?.running && process.env.REHEARSAL_KEEP_ON_FAILURE) {
      // For debugging by hand: the failed server stays up until Ctrl-C, then is cleaned up.
      process.stdout.write(
        `\ncontainer kept running: nsenter --target=${container.pid} --all /bin/bash  (root ${container.root});` +
          " Ctrl-C cleans up\n",
      );
      await new Promise(() => undefined);
    }
    await mkdir(".rehearsal", { recursive: true });
    const saved = join(".rehearsal", `failure-${id}.log`);
    await writeFile(saved, report);
    process.stdout.write(`\n(saved to ${saved})\n`);
    return 1;
  } finally {
    await cleanup.runAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

/** What Nginx saw when clients got errors: its error log and the failed requests of its access log. */
async function nginxFailures(box: Container): Promise<string> {
  const result = await box.exec(
    `tail -n 20 /var/log/nginx/error.log; echo; grep -h '"status":5' /var/log/nginx/${appName}.access.log | tail -n 5`,
    { allowFailure: true },
  );
  return `nginx:\n${result.output.trim()}`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

process.exitCode = await main();

/**
 * `npm run rehearse`: boots the project's real user data on a fresh Debian 12 system in a
 * systemd-nspawn container on this machine, delivers releases with the server's own release
 * command, and drives the API through Nginx. Prints every step with its duration; on failure,
 * the logs that explain it; always cleans up what it created. See docs/rehearsal.md.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RehearsalClient } from "./api.js";
import { Cleanup } from "./cleanup.js";
import { waitForCloudInit } from "./cloud-init-wait.js";
import { Container } from "./container.js";
import { createPrivateNetwork } from "./network.js";
import { ensureNodeMirror, mirrorNodeOf, serveMirror } from "./node-mirror.js";
import { preflight } from "./preflight.js";
import { baseRelease, migrationRelease, variantRelease } from "./releases.js";
import { debian12, ensureRootfs } from "./rootfs.js";
import { ECS_2C2G } from "../support/machine-cgroup.js";
import { expectSystemRunning, releaseStatus } from "./server-checks.js";
import { runScenario } from "./scenario.js";
import { parseCloudInitOptions } from "../../cloud-init/options.js";
import { renderHostConf } from "../../cloud-init/host-conf.js";
import { bootToReady, runDayTwo } from "./day2.js";
import { runAlertsRehearsal } from "./alerts.js";
import { runFilesRehearsal } from "./files.js";
import { runOperationsRehearsal } from "./operations.js";
import { runPreviousVersion, serverFingerprint } from "./previous-version.js";
import { StepLog } from "./steps.js";
import { appNameOf, appPortsOf, nodeMajorOf, rehearsalCloudInitOptions, rehearsalUserData } from "./user-data.js";
import { runMain } from "../../scripts/lib/main.js";
import { clusterOnly } from "./cluster/main.js";
import { runClusterScenario } from "./cluster/scenario.js";

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
  if (process.argv.includes("--cluster-only")) return clusterOnly();
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
      const migrating = await migrationRelease(join(runDir, "releases"), quiet);
      const broken = await variantRelease(migrating, join(runDir, "releases"), "exits-at-start", quiet);
      const fleet = await variantRelease(migrating, join(runDir, "releases"), "second", quiet);
      return { base, second, migrating, broken, fleet };
    })();
    releasesBuilt.catch(() => undefined); // reported where it is awaited
    const network = await log.step("private network (netns + veth + NAT)", async () => {
      const net = await createPrivateNetwork(id, subnet, cleanup);
      log.info(`host ${net.hostAddress}, container ${net.containerAddress}`);
      return net;
    });
    const mirrorServer = await log.step("serve the mirror on the host end of the veth", async () => {
      // This run's view of the cached mirror (links), so day 2 can add a version without
      // touching the cache other runs share.
      const runMirror = join(runDir, "mirror");
      await mkdir(runMirror, { recursive: true });
      for (const entry of await readdir(mirror.dir)) await symlink(join(mirror.dir, entry), join(runMirror, entry));
      const server = await serveMirror(runMirror, network.hostAddress, 8080);
      cleanup.add("mirror server", () => server.close());
      log.info(`${server.url} (v${mirror.version})`);
      return server;
    });
    const mirrorNode = await mirrorNodeOf(mirror);
    const userData = await log.step("render the user data", async () => {
      const data = await rehearsalUserData(mirrorServer.url, mirrorNode);
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
        // A 2 vCPU / 2 GiB ECS instance: the smallest server docs/server.md ("Memory") plans for.
        size: ECS_2C2G,
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
      if (version !== `v${mirror.version}`)
        throw new Error(`node --version is ${version}, expected v${mirror.version}`);
      log.info(`node ${version}`);
    });

    const releases = await log.step("the release (built during the boot) and its variants", async () => {
      const built = await releasesBuilt.finally(() => {
        for (const line of buildLog) log.info(line);
      });
      log.info(`release ${built.base.hash} (${built.base.path})`);
      log.info(
        `second release ${built.second.hash}; with an extra migration ${built.migrating.hash}; ` +
          `made from it, a release whose server exits at start ${built.broken.hash}`,
      );
      return built;
    });
    const hostSettings = renderHostConf(parseCloudInitOptions(rehearsalCloudInitOptions(mirrorServer.url, mirrorNode)));
    await runScenario({
      box,
      api: new RehearsalClient(`http://${network.containerAddress}`),
      releases,
      log,
      appName,
      appPorts,
      id,
      hostSettings,
    });
    // What a server set up by the previous version must look like after its first deploy of this one.
    const freshServer = await serverFingerprint(box, appName, appPorts);
    if (!process.env.REHEARSAL_SKIP_DAY2) {
      // Options change after the server exists; one deploy converges it (day2.ts).
      await runDayTwo({
        box,
        api: new RehearsalClient(`http://${network.containerAddress}`),
        log,
        appName,
        appPorts,
        id,
        runDir,
        mirrorDir: join(runDir, "mirror"),
        nodeCacheDir: join(cacheDir, "node-extra"),
        bootOptions: rehearsalCloudInitOptions(mirrorServer.url, mirrorNode),
        bootNode: mirrorNode,
        releases,
      });
    }
    if (!process.env.REHEARSAL_SKIP_DAY2 && !process.env.REHEARSAL_SKIP_ALERTS) {
      // Each thing that must reach a human broken once (alerts.ts); needs day 2's domain and backup target.
      const started = Date.now();
      await runAlertsRehearsal({
        box,
        log,
        cleanup,
        appName,
        hostAddress: network.hostAddress,
      });
      log.info(`alerts rehearsal: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    if (!process.env.REHEARSAL_SKIP_DAY2) {
      // The sandboxed certificate unit and the operator's commands on the running server (operations.ts).
      await runOperationsRehearsal({ box, log, appName });
    }
    if (!process.env.REHEARSAL_SKIP_FILES) {
      // Attachments turned on by a deploy: credentials from the metadata address, bytes in the TOS stand-in (files.ts).
      const current = (await releaseStatus(box)).current;
      const release = [releases.base, releases.second].find((r) => r.hash === current) ?? releases.base;
      await runFilesRehearsal({
        box,
        log,
        cleanup,
        api: new RehearsalClient(`http://${network.containerAddress}`),
        appName,
        hostAddress: network.hostAddress,
        release,
        id,
      });
    }
    if (!process.env.REHEARSAL_PREVIOUS_USER_DATA && !process.env.REHEARSAL_SKIP_PREVIOUS) {
      // A server created by the previous version's user data, converged by this release.
      await box.poweroff();
      await runPreviousVersion(
        {
          log,
          cleanup,
          id,
          runDir,
          rootfs: rootfs.path,
          aptCacheDir: join(cacheDir, "apt-archives"),
          mirrorUrl: mirrorServer.url,
          release: releases.base,
          hostSettings,
          appName,
          appPorts,
          cloudInitTimeoutMs,
        },
        freshServer,
      );
      const added = log.records
        .filter((r) => r.name.startsWith("previous version"))
        .reduce((sum, r) => sum + r.seconds, 0);
      log.info(`the previous-version server added ${added.toFixed(1)} s`);
    }
    if (!process.env.REHEARSAL_SKIP_CLUSTER) {
      // The cluster topology: bastion, app servers, RDS and CLB (cluster/scenario.ts).
      await box.poweroff();
      const started = Date.now();
      await runClusterScenario(
        {
          log,
          cleanup,
          id,
          runDir: join(runDir, "cluster"),
          rootfs: rootfs.path,
          aptCacheDir: join(cacheDir, "apt-archives"),
          mirrorDir: mirror.dir,
          node: mirrorNode,
          cloudInitTimeoutMs,
        },
        releases,
      );
      log.info(`the cluster added ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    log.info(bootToReady(log));
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
    await mkdir(".rehearsal", { recursive: true });
    const saved = join(".rehearsal", `failure-${id}.log`);
    await writeFile(saved, report);
    process.stdout.write(`\n(saved to ${saved})\n`);
    if (container?.running && process.env.REHEARSAL_KEEP_ON_FAILURE) {
      // For debugging by hand: the failed server stays up until Ctrl-C, then is cleaned up.
      process.stdout.write(
        `\ncontainer kept running: nsenter --target=${container.pid} --all /bin/bash  (root ${container.root});` +
          " Ctrl-C cleans up\n",
      );
      await new Promise(() => undefined);
    }
    return 1;
  } finally {
    await cleanup.runAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

runMain(import.meta.url, "rehearse", main);

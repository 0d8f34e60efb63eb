/**
 * `npm run rehearse`: boots the project's real user data on a fresh Debian 12 system in a
 * systemd-nspawn container on this machine, delivers releases with the server's own release
 * command, and drives the API through Nginx. Prints every step with its duration; on failure,
 * the logs that explain it; always cleans up what it created. See docs/rehearsal.md.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cleanup } from "./cleanup.js";
import { Container } from "./container.js";
import { waitForCloudInit } from "./cloud-init-wait.js";
import { createPrivateNetwork } from "./network.js";
import { ensureNodeMirror, serveMirror } from "./node-mirror.js";
import { preflight } from "./preflight.js";
import { debian12, ensureRootfs } from "./rootfs.js";
import { StepLog } from "./steps.js";
import { rehearsalUserData } from "./user-data.js";

const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
const nodeMajor = Number(process.env.REHEARSAL_NODE_MAJOR ?? 24);
const cloudInitTimeoutMs = Number(process.env.REHEARSAL_CLOUD_INIT_TIMEOUT_S ?? 900) * 1000;
const id = randomBytes(2).toString("hex");
const subnet = process.env.REHEARSAL_SUBNET ?? `10.213.${randomBytes(1)[0]! & 0xfc}`;

async function main(): Promise<number> {
  const log = new StepLog();
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  let container: Container | undefined;
  try {
    await log.step("preflight", () => preflight());
    const rootfs = await log.step("Debian 12 root filesystem (debootstrap + cloud-init)", () =>
      ensureRootfs(cacheDir, debian12, log, process.argv.includes("--rebuild-rootfs")),
    );
    const mirror = await log.step(`Node.js ${nodeMajor} mirror from the npm registry`, () =>
      ensureNodeMirror(cacheDir, nodeMajor, log),
    );
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
      const data = await rehearsalUserData(mirrorServer.url, nodeMajor);
      log.info(`${data.source}: ${Buffer.byteLength(data.text)} bytes`);
      return data;
    });

    const runDir = join(workDir, `run-${id}`);
    await mkdir(runDir, { recursive: true });
    container = new Container(
      { name: `todo-rehearsal-${id}`, runDir, lowerDir: rootfs.path, network, aptCacheDir: join(cacheDir, "apt-archives") },
      cleanup,
    );
    cleanup.add(`work directory ${runDir}`, () => container!.removeRunDir());
    const box = container;
    await log.step("boot the container; cloud-init runs the user data", async () => {
      await box.prepare();
      await box.writeSeed(userData.text, `rehearsal-${id}`, "todo-rehearsal");
      await box.boot();
      const result = await waitForCloudInit(box, cloudInitTimeoutMs, (line) => log.info(`│ ${line}`));
      log.info(result.detail);
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
    return 0;
  } catch (error) {
    process.stdout.write(`\nREHEARSAL FAILED: ${(error as Error).message}\n`);
    if (container) {
      const diagnostics = await container.diagnostics().catch((e: Error) => `(no diagnostics: ${e.message})`);
      process.stdout.write(`\n${diagnostics}\n`);
      const saved = join(".rehearsal", `failure-${id}.log`);
      await mkdir(".rehearsal", { recursive: true });
      await writeFile(saved, `${(error as Error).stack}\n\n${diagnostics}\n`);
      process.stdout.write(`\n(saved to ${saved})\n`);
    }
    return 1;
  } finally {
    await cleanup.runAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

process.exitCode = await main();

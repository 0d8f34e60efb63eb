/**
 * `npm run check:fresh` (root): proves the README's promise for a new user. A clean Debian 12
 * container (debootstrap minbase, see image.ts) gets only Node.js and npm from the npm registry,
 * a clone of this repository's committed HEAD, and runs the README's two commands as written:
 * `npm install && npm start` must answer /healthz, then `npm test` must pass (skips allowed,
 * counted). The container reaches the npm registry through the rehearsal's NAT. Reuses the
 * rehearsal's image cache, network and Node.js mirror code; cleans up everything it creates.
 */
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Cleanup } from "../rehearse/cleanup.js";
import { createPrivateNetwork, type PrivateNetwork } from "../rehearse/network.js";
import { preflight } from "../rehearse/preflight.js";
import { run } from "../rehearse/shell.js";
import { StepLog } from "../rehearse/steps.js";
import { ensureFreshInputs, installNode, NODE_MAJOR } from "./image.js";
import { NEWCOMER_SCRIPT, parseVitestCounts } from "./newcomer.js";
import { runMain } from "../../scripts/lib/main.js";

const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
const id = randomBytes(2).toString("hex");
const subnet = process.env.REHEARSAL_SUBNET ?? `10.214.${randomBytes(1)[0]! & 0xfc}`;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const timeoutMs = Number(process.env.CHECK_FRESH_TIMEOUT_S ?? 2400) * 1000;
/** The newcomer's account in the container: a laptop user, not root. */
const USER = "dev";
const HOME = `/home/${USER}`;
const HOST_CA = "/etc/ssl/certs/ca-certificates.crt";
const CONTAINER_CA = "/usr/local/share/host-ca-bundle.crt";
let hostCa = false;

async function main(): Promise<number> {
  const log = new StepLog();
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers(() => process.stdout.write(`\nSteps (interrupted):\n${log.summary()}\n`));
  try {
    await log.step("preflight", () => preflight());
    const commit = await log.step("the repository's committed HEAD", async () => {
      const head = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
      const dirty = (await run("git", ["-C", repo, "status", "--porcelain", "--untracked-files=no"])).stdout.trim();
      log.info(`${head}${dirty ? " (uncommitted changes in the work tree are NOT part of the check)" : ""}`);
      return head;
    });
    const inputs = await log.step(`plain Debian 12 image, Node.js ${NODE_MAJOR} and npm (npm registry)`, () =>
      ensureFreshInputs(cacheDir, log, process.argv.includes("--rebuild-rootfs")),
    );

    const runDir = join(workDir, `fresh-${id}`);
    const root = join(runDir, "root");
    await log.step("container root: overlay, Node.js, a user, the clone", async () => {
      await Promise.all(["upper", "work", "root"].map((d) => mkdir(join(runDir, d), { recursive: true })));
      cleanup.add(`work directory ${runDir}`, () => rm(runDir, { recursive: true, force: true }));
      await run("mount", [
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${inputs.rootfs.path},upperdir=${join(runDir, "upper")},workdir=${join(runDir, "work")}`,
        root,
      ]);
      cleanup.add(`overlay ${root}`, async () => {
        if ((await run("umount", [root], { allowFailure: true })).code !== 0)
          await run("umount", ["--lazy", root], { allowFailure: true });
      });
      // Every installed Debian has it (the installer writes it); debootstrap alone does not.
      await writeFile(join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
      await installNode(root, inputs);
      log.info(`node v${inputs.node.version}, npm ${inputs.npmVersion} in /usr/local`);
      // This machine reaches the registry through a TLS-inspecting egress proxy: the container
      // trusts what the host trusts (Node.js's own CA list plus the host's bundle), nothing more.
      hostCa = await copyFile(HOST_CA, join(root, CONTAINER_CA.slice(1))).then(
        () => true,
        () => false,
      );
      await nspawn(root, undefined, ["/usr/sbin/useradd", "--create-home", "--shell", "/bin/bash", USER]);
      const clone = join(root, HOME.slice(1), "todo");
      await run("git", ["clone", "--quiet", "--no-hardlinks", repo, clone]);
      await run("git", ["-C", clone, "checkout", "--quiet", "--detach", commit]);
      await nspawn(root, undefined, ["chown", "-R", `${USER}:${USER}`, `${HOME}/todo`]);
      log.info(`cloned ${commit.slice(0, 12)} into ${HOME}/todo (user ${USER})`);
    });
    const network = await log.step("private network (netns + veth + NAT to the npm registry)", async () => {
      const net = await createPrivateNetwork(id, subnet, cleanup);
      log.info(`host ${net.hostAddress}, container ${net.containerAddress}`);
      return net;
    });

    let output = "";
    const status = await log.step("as a new user: npm install && npm start (/healthz), then npm test", async () => {
      const result = await nspawn(root, network, ["/bin/bash", "-c", NEWCOMER_SCRIPT], {
        user: USER,
        onOutput: (chunk) => {
          output += chunk;
          process.stdout.write(chunk.replace(/^(?=.)/gm, "  │ "));
        },
      });
      return result.code;
    });
    const counts = parseVitestCounts(output);
    log.info(
      counts
        ? `npm test: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (of ${counts.total})`
        : "npm test: no test summary found in the output",
    );
    const startLine = output.match(/^== \/healthz .*$/m)?.[0];
    if (startLine) log.info(startLine);
    if (status !== 0) throw new Error(`the newcomer's commands failed (exit ${status}); see the output above`);
    process.stdout.write(`\nSteps:\n${log.summary()}\n\ncheck:fresh passed\n`);
    return 0;
  } catch (error) {
    process.stdout.write(`\n${(error as Error).message}\n\nSteps:\n${log.summary()}\n\ncheck:fresh FAILED\n`);
    return 1;
  } finally {
    await cleanup.runAll();
  }
}

/** A command in the container (no init: a fresh machine's shell, not a booted server). */
function nspawn(
  root: string,
  network: PrivateNetwork | undefined,
  command: string[],
  options: { user?: string; onOutput?: (chunk: string) => void } = {},
) {
  const args = [
    "--quiet",
    "--register=no",
    "--keep-unit",
    `--machine=todo-fresh-${id}`,
    "-D",
    root,
    "--resolv-conf=copy-host",
  ];
  // A pipe, not a pseudo-terminal: plain progress output that can be logged and read back.
  args.push("--console=pipe");
  if (network) args.push(`--network-namespace-path=${network.namespacePath}`);
  if (options.user) {
    args.push(
      `--user=${options.user}`,
      `--chdir=${HOME}/todo`,
      `--setenv=HOME=${HOME}`,
      `--setenv=USER=${options.user}`,
    );
  }
  // NO_COLOR: the newcomer's output is relayed into a log (CI's), where colour codes are noise.
  args.push("--setenv=PATH=/usr/local/bin:/usr/bin:/bin", "--setenv=LANG=C.UTF-8", "--setenv=NO_COLOR=1");
  if (hostCa) args.push(`--setenv=NODE_EXTRA_CA_CERTS=${CONTAINER_CA}`);
  return run("systemd-nspawn", [...args, ...command], {
    allowFailure: true,
    timeoutMs,
    onOutput: options.onOutput,
  }).then((r) => {
    if (!options.onOutput && r.code !== 0)
      throw new Error(`${command.join(" ")} in the container failed:\n${r.output}`);
    return r;
  });
}

runMain(import.meta.url, "check:fresh", main);

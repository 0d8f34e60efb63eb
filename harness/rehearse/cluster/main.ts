import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Cleanup } from "../cleanup.js";
import { ensureNodeMirror, mirrorNodeOf } from "../node-mirror.js";
import { preflight } from "../preflight.js";
import { baseRelease, migrationRelease, variantRelease } from "../releases.js";
import { debian12, ensureRootfs } from "../rootfs.js";
import { StepLog } from "../steps.js";
import { nodeMajorOf, rehearsalCloudInitOptions } from "../user-data.js";
import { runClusterScenario } from "./scenario.js";

/**
 * `npm run rehearse -- --cluster-only`: the cluster scenario alone (scenario.ts), with its own
 * releases, image and Node.js mirror from the same caches as the whole rehearsal.
 */
export async function clusterOnly(): Promise<number> {
  const cacheDir = process.env.REHEARSAL_CACHE_DIR ?? "/var/cache/todo-rehearsal";
  const workDir = process.env.REHEARSAL_WORK_DIR ?? "/var/tmp/todo-rehearsal";
  const id = randomBytes(2).toString("hex");
  const log = new StepLog();
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers(() => process.stdout.write(`\nSteps (interrupted):\n${log.summary()}\n`));
  try {
    await log.step("preflight", () => preflight());
    const planned = rehearsalCloudInitOptions("http://mirror.invalid");
    const [rootfs, mirror] = await log.step("Debian 12 image and Node.js mirror", () =>
      Promise.all([ensureRootfs(cacheDir, debian12, log), ensureNodeMirror(cacheDir, nodeMajorOf(planned), log)]),
    );
    const runDir = join(workDir, `cluster-${id}`);
    await mkdir(runDir, { recursive: true });
    cleanup.add(`work directory ${runDir}`, () => rm(runDir, { recursive: true, force: true }));
    const releases = await log.step("the releases", async () => {
      const quiet = (message: string) => log.info(message);
      const base = await baseRelease(quiet);
      const second = await variantRelease(base, join(runDir, "releases"), "second", quiet);
      const migrating = await migrationRelease(join(runDir, "releases"), quiet);
      const fleet = await variantRelease(migrating, join(runDir, "releases"), "second", quiet);
      return { base, second, migrating, fleet };
    });
    await runClusterScenario(
      {
        log,
        cleanup,
        id,
        runDir: join(runDir, "cluster"),
        rootfs: rootfs.path,
        aptCacheDir: join(cacheDir, "apt-archives"),
        mirrorDir: mirror.dir,
        node: await mirrorNodeOf(mirror),
        cloudInitTimeoutMs: Number(process.env.REHEARSAL_CLOUD_INIT_TIMEOUT_S ?? 900) * 1000,
      },
      releases,
    );
    if (log.failed.length > 0) {
      throw new Error(`${log.failed.length} check(s) failed: ${log.failed.map((r) => r.name).join("; ")}`);
    }
    process.stdout.write("\nCLUSTER REHEARSAL PASSED\n");
    return 0;
  } catch (error) {
    process.stdout.write(`\nCLUSTER REHEARSAL FAILED: ${(error as Error).stack}\n`);
    if (process.env.REHEARSAL_KEEP_ON_FAILURE) {
      process.stdout.write("\nkept running; Ctrl-C cleans up\n");
      await new Promise(() => undefined);
    }
    return 1;
  } finally {
    await cleanup.runAll();
    process.stdout.write(`\nSteps:\n${log.summary()}\n`);
  }
}

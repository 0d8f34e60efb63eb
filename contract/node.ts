import { z } from "zod";
import pinFile from "./node-release.json" with { type: "json" };

/**
 * The Node.js every server runs: an exact version and the SHA-256 of its official linux tarballs
 * (`node-v<version>-linux-<arch>.tar.xz`), pinned in contract/node-release.json. Servers verify
 * the download against these sums, not against a checksum file from the same mirror, so a
 * compromised or stale mirror cannot hand out another binary, and servers built weeks apart run
 * the same Node. Upgrading is a reviewed commit (`npm run node:pin -- --version <x.y.z>`, which
 * reads the mirror's SHASUMS256.txt) followed by a deploy, which rolls it over the app instances.
 */
export const nodeVersionSchema = z
  .string()
  .regex(/^\d+\.\d+\.\d+$/, 'must be an exact Node.js version such as "24.11.1"');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a SHA-256 in hex");

export const nodeReleaseSchema = z
  .object({
    version: nodeVersionSchema,
    sha256: z.object({ "linux-x64": sha256, "linux-arm64": sha256.optional() }).strict(),
  })
  .strict();
export type NodeRelease = z.output<typeof nodeReleaseSchema>;

/** Where the pin lives (the update script rewrites it). */
export const NODE_RELEASE_FILE = new URL("./node-release.json", import.meta.url);

/** The pinned release (validated; a malformed pin file is an error, not a silent default). */
export function pinnedNodeRelease(): NodeRelease {
  return nodeReleaseSchema.parse(pinFile);
}

/** The tarball a server downloads for an architecture. */
export const nodeTarballName = (version: string, arch: "x64" | "arm64") => `node-v${version}-linux-${arch}.tar.xz`;

/** The sums of `version`'s linux tarballs, read from a mirror's SHASUMS256.txt text. */
export function nodeReleaseFromShasums(version: string, shasums: string): NodeRelease {
  const sums = new Map<string, string>();
  for (const line of shasums.split("\n")) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  const x64 = sums.get(nodeTarballName(version, "x64"));
  if (!x64) throw new Error(`SHASUMS256.txt lists no ${nodeTarballName(version, "x64")}`);
  const arm64 = sums.get(nodeTarballName(version, "arm64"));
  return nodeReleaseSchema.parse({ version, sha256: { "linux-x64": x64, ...(arm64 ? { "linux-arm64": arm64 } : {}) } });
}

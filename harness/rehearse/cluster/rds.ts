import { existsSync } from "node:fs";
import { chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findPostgresBin } from "../../support/pg-cluster.js";
import type { Cleanup } from "../cleanup.js";
import { run } from "../shell.js";

/**
 * "RDS for PostgreSQL": this machine's PostgreSQL in a namespace of its own on the first app
 * subnet, set up as the stack asks RDS to: the account (a plain login role, like RDS's `Normal`
 * account with `Login,Inherit`), its database, and the allowlist as the only networks that may
 * connect, with password (SCRAM) authentication. Anything else is refused by pg_hba.conf.
 */
export interface RdsSpec {
  databaseName: string;
  accountName: string;
  password: string;
  allowList: readonly string[];
}

export interface Rds {
  address: string;
  port: number;
  /** Its data directory (postmaster.pid: the processes that are "RDS"). */
  dataDir: string;
  /** The app's URL, as the stack builds it (account, URL-encoded password, endpoint, database). */
  url: string;
  /** Runs SQL as the superuser through the local socket. */
  sql(query: string): Promise<string>;
}

export async function startRds(
  spec: RdsSpec,
  at: { namespace: string; address: string; dir: string },
  cleanup: Cleanup,
): Promise<Rds> {
  const pg = await startPostgres(at, spec.allowList, cleanup);
  await pg.sql(`CREATE ROLE ${ident(spec.accountName)} LOGIN INHERIT PASSWORD ${literal(spec.password)};`);
  await pg.sql(`CREATE DATABASE ${ident(spec.databaseName)} OWNER ${ident(spec.accountName)};`);
  return {
    ...pg,
    url: `postgres://${spec.accountName}:${encodeURIComponent(spec.password)}@${at.address}:5432/${spec.databaseName}`,
  };
}

export const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
export const ident = (value: string) => `"${value.replace(/"/g, '""')}"`;

/** PostgreSQL as RDS runs it, before any account or database: what the stand-in's RDS builds on. */
export interface Postgres extends Omit<Rds, "url"> {
  /** pg_hba.conf: exactly these networks, with SCRAM passwords; reloaded at once. */
  setAllowList(allowList: readonly string[]): Promise<void>;
  /** Stops it (the instance is deleted). */
  stop(): Promise<void>;
}

/**
 * This machine's PostgreSQL in the namespace `at.namespace`, listening on `at.address`:5432, with
 * the allowlist as the only networks that may connect (password authentication).
 */
export async function startPostgres(
  at: { namespace: string; address: string; dir: string },
  allowList: readonly string[],
  cleanup: Cleanup,
): Promise<Postgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error("no PostgreSQL binaries (initdb, pg_ctl) on this machine: apt-get install -y postgresql");
  const data = join(at.dir, "data");
  const socket = join(at.dir, "socket");
  await mkdir(at.dir, { recursive: true });
  await mkdir(socket, { recursive: true });
  const { uid, gid } = await postgresUser();
  await chown(at.dir, uid, gid);
  await chown(socket, uid, gid);
  const asPostgres = (command: string, args: string[], timeoutMs = 120_000) =>
    run("ip", ["netns", "exec", at.namespace, "runuser", "-u", "postgres", "--", join(bin, command), ...args], {
      timeoutMs,
      cwd: "/",
    });
  const hba = (cidrs: readonly string[]) =>
    [
      "local all postgres peer",
      ...cidrs.map((cidr) => `host all all ${cidr.includes("/") ? cidr : `${cidr}/32`} scram-sha-256`),
      "", // anything else: no entry, refused
    ].join("\n");
  await asPostgres("initdb", ["-D", data, "-A", "peer", "-E", "UTF8", "--no-sync"]);
  await writeFile(join(data, "pg_hba.conf"), hba(allowList));
  await writeFile(
    join(data, "postgresql.auto.conf"),
    [`listen_addresses = '${at.address}'`, "port = 5432", `unix_socket_directories = '${socket}'`, ""].join("\n"),
  );
  await asPostgres("pg_ctl", ["-D", data, "-l", join(at.dir, "postgres.log"), "-w", "start"]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
  };
  cleanup.add("RDS (PostgreSQL)", stop);
  const sql = async (query: string) =>
    (
      await run(
        "runuser",
        [
          "-u",
          "postgres",
          "--",
          existsSync(join(bin, "psql")) ? join(bin, "psql") : "psql",
          "-XAtq",
          "-v",
          "ON_ERROR_STOP=1",
          "-h",
          socket,
          "-d",
          "postgres",
        ],
        { input: query, cwd: "/" },
      )
    ).stdout.trim();
  return {
    address: at.address,
    port: 5432,
    dataDir: data,
    sql,
    stop,
    async setAllowList(cidrs) {
      await writeFile(join(data, "pg_hba.conf"), hba(cidrs));
      await sql("SELECT pg_reload_conf();");
    },
  };
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const line = (await run("getent", ["passwd", "postgres"], { allowFailure: true })).stdout.trim();
  if (!line) throw new Error("no `postgres` system user on this machine (apt-get install -y postgresql)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

import { delimiter, join } from "node:path";
import pg from "pg";
import { findPostgresBin } from "../../harness/support/pg-cluster.js";
import { SHELL_LIBRARY_ENV } from "./helpers.js";

/**
 * The test run's database as todo-backup and todo-restore reach it. On the server they connect as
 * `postgres` over its socket; here the same libpq settings come from PG* variables, with the
 * PostgreSQL client tools of the test cluster first on PATH and the host settings in `dir`.
 */
export function backupEnv(databaseUrl: string, paths: { dir: string; backups: string }): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  return {
    PATH: [findPostgresBin(), process.env.PATH].filter(Boolean).join(delimiter),
    ...SHELL_LIBRARY_ENV,
    PGHOST: decodeURIComponent(url.hostname || (url.searchParams.get("host") ?? "")),
    PGPORT: url.port || "5432",
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    TODO_HOST_CONF: join(paths.dir, "host.conf"),
    TODO_BACKUP_DIR: paths.backups,
    TODO_DB_NAME: url.pathname.slice(1),
  };
}

/**
 * Drops the test database and every database the scripts named after it (`<name>_before_restore_…`,
 * `<name>_restore_…`, `<name>_verify_…`), so a failed test leaves none behind.
 */
export async function dropWithCopies(db: { url: string; drop(): Promise<void> }): Promise<void> {
  const name = new URL(db.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: new URL("/postgres", db.url).toString() });
  await admin.connect();
  try {
    const copies = await admin.query("select datname from pg_database where datname like $1", [`${name}\\_%`]);
    for (const row of copies.rows) await admin.query(`drop database if exists "${row.datname}" with (force)`);
  } finally {
    await admin.end();
  }
  await db.drop();
}

import { type Config, ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "./database.js";
import { migrateDown, migrationStatus, prepareSchema } from "./migrator.js";

/**
 * `npm run migrate -- up|down|status` (bundled: `node migrate.mjs up|down|status`).
 * Uses the same configuration as the server: DATABASE_URL, or the embedded database in DATA_DIR.
 */
const USAGE =
  "usage: migrate <up|down|status>\n  up      apply every pending migration\n  down    revert the most recent migration\n  status  list migrations and when they ran";

export async function runMigrateCli(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command !== "up" && command !== "down" && command !== "status") {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const handle = await openDatabase(config.database);
  try {
    process.stdout.write(
      `database: ${handle.kind === "pglite" ? `embedded PGlite in ${handle.location}` : handle.location}\n`,
    );
    if (command === "up") {
      const { applied, ahead } = await prepareSchema(handle.sessionDb, { migrate: true });
      if (ahead.length > 0) {
        process.stdout.write(
          `database is ahead of this release (it also ran ${ahead.join(", ")}); this release's migrations are all applied, nothing to do\n`,
        );
      } else {
        process.stdout.write(applied.length ? applied.map((n) => `applied ${n}\n`).join("") : "already up to date\n");
      }
    } else if (command === "down") {
      const reverted = await migrateDown(handle.sessionDb);
      process.stdout.write(reverted.length ? reverted.map((n) => `reverted ${n}\n`).join("") : "nothing to revert\n");
    } else {
      for (const m of await migrationStatus(handle.sessionDb)) {
        process.stdout.write(
          `${m.executedAt ? `applied ${m.executedAt.toISOString()}` : "pending                         "}  ${m.name}\n`,
        );
      }
    }
    return 0;
  } catch (err) {
    process.stderr.write(`migrate ${command} failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await handle.close();
  }
}

runMigrateCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);

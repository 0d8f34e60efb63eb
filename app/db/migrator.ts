import { Migrator, type Kysely, type MigrationResultSet } from "kysely";
import type { Database } from "./schema.js";
import { migrations } from "./migrations/index.js";

/**
 * Kysely's Migrator on PostgreSQL runs all pending migrations in one transaction that first
 * takes `pg_advisory_xact_lock`, so two processes starting together apply each migration once.
 */
export function createMigrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
}

export class MigrationError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

function check(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error");
    throw new MigrationError(
      `migration ${failed?.migrationName ?? "(unknown)"} failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`,
      result.error,
    );
  }
  return (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  return check(await createMigrator(db).migrateToLatest());
}

/** Reverts the most recent migration; returns the names reverted. */
export async function migrateDown(db: Kysely<Database>): Promise<string[]> {
  return check(await createMigrator(db).migrateDown());
}

export async function migrationStatus(db: Kysely<Database>): Promise<{ name: string; executedAt: Date | null }[]> {
  const all = await createMigrator(db).getMigrations();
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

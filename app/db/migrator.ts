import { Migrator, sql, type Kysely, type MigrationResultSet } from "kysely";
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

/** Where the database stands relative to the migrations this code carries. */
export interface MigrationState {
  /** Executed migrations, in the order they ran. */
  executed: string[];
  /** This code's migrations that the database has not run yet. */
  pending: string[];
  /** Executed migrations this code does not know: a newer release ran them (the database is ahead). */
  unknown: string[];
}

/** Reads kysely_migration directly: Kysely's own state check throws when the database is ahead. */
export async function migrationState(db: Kysely<Database>): Promise<MigrationState> {
  const table = await sql<{ exists: boolean }>`select to_regclass('kysely_migration') is not null as exists`.execute(
    db,
  );
  const executed = table.rows[0]?.exists
    ? (await sql<{ name: string }>`select name from kysely_migration order by timestamp, name`.execute(db)).rows.map(
        (r) => r.name,
      )
    : [];
  const known = Object.keys(migrations).sort();
  return {
    executed,
    pending: known.filter((name) => !executed.includes(name)),
    unknown: executed.filter((name) => !(name in migrations)),
  };
}

/**
 * What start-up and `migrate up` do with the schema. A database *ahead* of this code (it ran
 * migrations a newer release brought, e.g. after a rollback) is fine as long as every migration
 * of this code is applied: releases only add what the previous release can ignore (docs/app.md,
 * "Schema changes"). Nothing is migrated then. Pending migrations are applied when `migrate` is
 * true, else they stop the start (servers migrate once per release, in `todo-release deploy`).
 */
export async function prepareSchema(
  db: Kysely<Database>,
  { migrate }: { migrate: boolean },
): Promise<{ applied: string[]; ahead: string[] }> {
  const state = await migrationState(db);
  if (state.unknown.length > 0) {
    if (state.pending.length > 0) {
      throw new MigrationError(
        `the database has migrations this release does not know (${state.unknown.join(", ")}) and lacks some of its own (${state.pending.join(", ")}); deploy a release that carries both`,
        undefined,
      );
    }
    return { applied: [], ahead: state.unknown };
  }
  if (state.pending.length === 0) return { applied: [], ahead: [] };
  if (!migrate) {
    throw new MigrationError(
      `the database lacks this release's migrations ${state.pending.join(", ")}; run \`migrate up\` first (todo-release deploy does)`,
      undefined,
    );
  }
  return { applied: await migrateToLatest(db), ahead: [] };
}

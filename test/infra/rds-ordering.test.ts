/**
 * The order RDS needs at the first deploy, which the local cloud (local-cloud/, `npm run
 * rehearse:cloud`) shows with the real provider, checked here on the synthesized JSON so CI sees it without it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RDS, baseEnvironment, cleanupSynthDirs, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe("local cloud: rds mode, first deploy", () => {
  it("creates the app's RDS account (and so its database) only after the allowlist association, in both topologies", async () => {
    for (const env of [baseEnvironment({ database: RDS }), baseEnvironment({ topology: "cluster", database: RDS })]) {
      const tf = (await synth({ environments: { v: env } })).stacks["todo-api-v"]!;
      const [association] = Object.keys(tf.resource.volcengine_rds_postgresql_allowlist_associate);
      const account = Object.values<any>(tf.resource.volcengine_rds_postgresql_account)[0];
      // Associating an allowlist puts the instance in AllowListMaintaining; CreateDBAccount sent
      // meanwhile is refused (the provider waits for Running only after the association).
      expect(account.depends_on, String(env.topology ?? "single")).toContain(
        `volcengine_rds_postgresql_allowlist_associate.${association}`,
      );
      const database = Object.values<any>(tf.resource.volcengine_rds_postgresql_database)[0];
      expect(database.owner).toMatch(/^\$\{volcengine_rds_postgresql_account\./);
    }
  });
});

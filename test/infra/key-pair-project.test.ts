/**
 * The key pair's `project_name` is Optional but not Computed in the provider (v0.0.196), and the
 * provider's Read stores whatever DescribeKeyPairs returns. Whether the real API returns
 * `ProjectName` ("default") or leaves it out, the next plan must be clean: the stack never sets
 * it and ignores what is read back, in both topologies.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe.each([
  ["single", baseEnvironment()],
  ["cluster", baseEnvironment({ topology: "cluster", database: RDS })],
])("%s: the key pair's project", (_topology, env) => {
  it("is not set, and a project read back from the API is ignored", async () => {
    const tf = (await synth({ environments: { dev: env } })).stacks["todo-api-dev"]!;
    const pairs = resources(tf, "volcengine_ecs_key_pair");
    expect(pairs).toHaveLength(1);
    for (const pair of pairs) {
      expect(pair.project_name).toBeUndefined();
      expect(pair.lifecycle.ignore_changes).toEqual(expect.arrayContaining(["project_name", "public_key"]));
    }
  });
});

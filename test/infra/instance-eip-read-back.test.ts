/**
 * An ECS instance's `eip_address` block is ForceNew and never set by the stack (addresses are bound
 * with `volcengine_eip_associate`). Whether DescribeInstances reports the bound address in
 * `EipAddress` is not documented (local-cloud/answers.ts, instanceEipAddress): with either answer
 * the plan after the first apply must leave the server alone, not replace it with its data.
 */
import { afterAll, describe, expect, it } from "vitest";
import { providerMirror } from "./provider-mirror.js";
import { stackPart, withStandIn } from "./stand-in-cloud.js";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe.each([
  ["single", baseEnvironment(), 1],
  ["cluster", baseEnvironment({ topology: "cluster", database: RDS }), 3],
])("%s: every ECS instance", (_topology, env, count) => {
  it("ignores the eip_address block the provider reads back", async () => {
    const tf = (await synth({ environments: { dev: env } })).stacks["todo-api-dev"]!;
    const instances = resources(tf, "volcengine_ecs_instance");
    expect(instances).toHaveLength(count);
    for (const instance of instances) {
      expect(instance.eip_address).toBeUndefined();
      expect(instance.lifecycle.ignore_changes).toContain("eip_address");
    }
  });
});

const mirror = providerMirror();

describe("the server with its EIP, with the real provider against the stand-in", () => {
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }
  it.each(["omitted", "reported"] as const)(
    "DescribeInstances' EipAddress %s: applies, plans no change, destroys to nothing",
    async (answer) => {
      const tf = (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;
      const part = stackPart(tf, [
        "volcengine_vpc",
        "volcengine_subnet",
        "volcengine_security_group",
        "volcengine_ecs_key_pair",
        "volcengine_ecs_instance",
        "volcengine_eip_address",
        "volcengine_eip_associate",
      ]);
      await withStandIn(mirror.path!, { instanceEipAddress: answer }, async (run) => {
        run.write(part);
        const apply = await run.apply();
        expect(apply.status, apply.out).toBe(0);
        const plan = await run.plan();
        expect(plan.status, plan.out).toBe(0);
        const destroyed = await run.destroy();
        expect(destroyed.status, destroyed.out).toBe(0);
        expect(destroyed.left).toEqual([]);
      });
    },
    240_000,
  );
});

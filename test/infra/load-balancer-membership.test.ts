/**
 * An app server joins the load balancer's server group only after its deploy step has succeeded:
 * a new server (first deploy, scale-up) is not health-checked while it is still being set up, so
 * the unhealthy-servers alarm (3 minutes of a failing /readyz) does not fire for every deploy.
 */
import { afterAll, describe, expect, it } from "vitest";
import { RDS, baseEnvironment, cleanupSynthDirs, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe("load balancer membership", () => {
  it("each server's membership waits for that server's deploy step, and only for it", async () => {
    const tf = (
      await synth({
        environments: { prod: baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 3 } }) },
      })
    ).stacks["todo-api-prod"]!;
    const steps = Object.keys(tf.resource.null_resource);
    const members = tf.resource.volcengine_server_group_server as Record<string, { depends_on?: string[] }>;
    expect(Object.keys(members)).toHaveLength(3);
    for (let i = 1; i <= 3; i++) {
      const [name, member] = Object.entries(members).find(([n]) => n.startsWith(`load-balancer_server-${i}_`))!;
      const step = steps.find((s) => s.startsWith(`app_server-${i}_release_`));
      expect(member.depends_on, name).toEqual([`null_resource.${step}`]);
    }
  });
});

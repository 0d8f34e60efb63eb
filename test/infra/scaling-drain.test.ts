/**
 * The destroy-time drain of the stack's scaling group (infra/constructs/scaling-drain.mjs), run as
 * Terraform runs it (`node scaling-drain.mjs <client> <group> <region> <timeout>`, the provider's
 * environment) against the stand-in's Auto Scaling through its proxy: it scales the group to 0 and
 * waits until the group holds no server, so that DeleteScalingGroup then succeeds under either
 * answer of `scalingGroupDelete`; a group already gone is fine; it fails, saying why, without
 * credentials and when the servers do not leave in time.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  as,
  close,
  cloud,
  code,
  group,
  hook,
  instances,
  later,
  ok,
  start,
  waiting,
  world,
} from "../local-cloud/auto-scaling-support.js";
import { projectRoot } from "./synth-helpers.js";

afterEach(close);

const SCRIPT = path.join(projectRoot, "infra/constructs/scaling-drain.mjs");
const CLIENT = path.join(projectRoot, "cloud-init/lib/volc-openapi.mjs");

/** Runs the drain while the stand-in's clock moves on (a second every 50 ms), or stands still. */
async function drain(
  groupId: string,
  timeoutSeconds: number,
  env: Record<string, string | undefined> = {},
  clockMoves = true,
) {
  const child = spawn(process.execPath, [SCRIPT, CLIENT, groupId, "cn-beijing", String(timeoutSeconds)], {
    env: {
      PATH: process.env.PATH,
      VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
      VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
      VOLCENGINE_DISABLE_SSL: "true",
      VOLCENGINE_PROXY_URL: cloud.url,
      ...env,
    },
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const status = await new Promise<number>((resolve) => {
    const tick = setInterval(() => clockMoves && later(1000), 50);
    child.on("close", (c) => {
      clearInterval(tick);
      resolve(c ?? 1);
    });
  });
  return { status, out };
}

/** An enabled group of the stack's shape with two servers admitted at the SCALE_OUT hook. */
async function groupWithServers(scaleInSeconds = 60) {
  const w = await world();
  const { groupId } = await group(w, { DesireInstanceNumber: 2 });
  await hook(groupId, "SCALE_OUT", "REJECT");
  await hook(groupId, "SCALE_IN", "CONTINUE", scaleInSeconds);
  ok(await as("EnableScalingGroup", { ScalingGroupId: groupId }));
  later();
  for (const i of await instances(groupId)) {
    const [activity] = await waiting(i.InstanceId);
    ok(
      await as("CompleteLifecycleActivity", {
        LifecycleActivityId: activity.LifecycleActivityId,
        LifecycleActivityPolicy: "CONTINUE",
      }),
    );
  }
  expect((await instances(groupId)).map((i) => i.Status)).toEqual(["InService", "InService"]);
  return groupId;
}

describe("the scaling group's drain before a destroy", () => {
  it.each(["releases-instances", "refused"] as const)(
    "empties the group through its SCALE_IN hook, so it can be deleted (DeleteScalingGroup %s)",
    async (answer) => {
      await start({ scalingGroupDelete: answer });
      const groupId = await groupWithServers();
      if (answer === "refused") expect(code(await as("DeleteScalingGroup", { ScalingGroupId: groupId }))).toBeTruthy();
      const r = await drain(groupId, 120);
      expect(r.out).toContain(`scaling group ${groupId}: empty`);
      expect(r.status, r.out).toBe(0);
      expect(await instances(groupId)).toEqual([]);
      ok(await as("DisableScalingGroup", { ScalingGroupId: groupId }));
      ok(await as("DeleteScalingGroup", { ScalingGroupId: groupId }));
    },
    60_000,
  );

  it("succeeds for a group that no longer exists", async () => {
    await start();
    const r = await drain("scg-00000000000000000000", 10);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("already gone");
  });

  it("fails, naming the variables, without the provider's credentials", async () => {
    await start();
    const r = await drain("scg-00000000000000000000", 10, { VOLCENGINE_ACCESS_KEY: undefined });
    expect(r.status).toBe(1);
    expect(r.out).toContain("VOLCENGINE_ACCESS_KEY and VOLCENGINE_SECRET_KEY must be set");
  });

  it("fails, saying what to do, when the servers do not leave in time", async () => {
    await start();
    // The stand-in's clock stands still: the SCALE_IN hook holds both servers throughout.
    const groupId = await groupWithServers();
    const r = await drain(groupId, 1, {}, false);
    expect(r.status).toBe(1);
    expect(r.out).toContain("still holds servers after 1 s");
  }, 30_000);
});

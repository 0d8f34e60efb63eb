/**
 * The real provider (volcengine 0.0.196) against the local cloud's Auto Scaling service: the test
 * configuration `scaling/main.tf` (a scaling group with its configuration, the configuration's
 * attachment, a SCALE_OUT lifecycle hook and the enabler, joined to a CLB server group) applies,
 * the group's instance waits at the hook, the seed's calls complete it and the instance is in the
 * server group, a plan then shows no changes, the group is scaled to 0, and a destroy leaves
 * nothing. Under each combination of the two Auto Scaling switches (local-cloud/answers.ts): each
 * must pass.
 *
 * Needs the provider from a filesystem mirror (VOLCENGINE_PROVIDER_MIRROR) and terraform; without
 * them it is skipped with the reason. `SCALING_RECORD=<dir>` keeps the stand-in's call log of each
 * run in `<dir>` (the recordings `scaling-replay.test.ts` replays in CI without the provider).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Answers } from "../../local-cloud/answers.js";
import { startLocalCloud } from "../../local-cloud/server.js";
import { providerMirror, terraformWithMirrorAsync } from "../infra/provider-mirror.js";
import { openApi } from "./client.js";

const mirror = providerMirror();
const why = mirror.missing;
if (why) console.warn(`scaling group with the real provider: skipped, ${why}`);
const root = mkdtempSync(path.join(tmpdir(), "todo-scaling-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The answer sets: both Auto Scaling switches (about the same group) in all four combinations, named like the fixtures' folders. */
const SCALING_ANSWER_SETS: { id: string; answers: Partial<Answers> }[] = [
  { id: "defaults", answers: {} },
  { id: "other", answers: { scalingHookServerGroup: "before-hook", scalingGroupDelete: "refused" } },
  { id: "mixed-a", answers: { scalingHookServerGroup: "before-hook" } },
  { id: "mixed-b", answers: { scalingGroupDelete: "refused" } },
];

describe("a scaling group held at its lifecycle hook and joined to the CLB server group, with the real provider", () => {
  if (why) {
    it.skip(`skipped: ${why}`, () => {});
    return;
  }
  it.each(SCALING_ANSWER_SETS)(
    "$id: applies, the seed completes the hook, plans no changes, scales to 0, destroys to zero",
    async ({ id, answers }) => {
      const work = path.join(root, id);
      mkdirSync(work);
      const cloud = await startLocalCloud({ transitionMs: 1000, answers });
      copyFileSync(path.join(import.meta.dirname, "scaling", "main.tf"), path.join(work, "main.tf"));
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "scaling-test", "-f", path.join(work, "key")]);
      const terraform = terraformWithMirrorAsync(mirror.path!, work, {
        VOLCENGINE_PROXY_URL: cloud.url,
        VOLCENGINE_DISABLE_SSL: "true",
        VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
        VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
        TF_VAR_public_key: readFileSync(path.join(work, "key.pub"), "utf8").trim(),
        TF_VAR_image_id: "image-debian12local0001",
      });
      const as = (action: string, params: Record<string, unknown>) =>
        openApi(cloud.url, "auto_scaling", action, params, { version: "2020-01-01" });
      const step = async (args: string[], expected = 0) => {
        const r = await terraform(args);
        expect(r.status, `terraform ${args[0]}:\n${r.out.slice(-4000)}`).toBe(expected);
        return r.out;
      };
      try {
        await step(["init", "-input=false", "-no-color"]);
        await step(["apply", "-auto-approve", "-input=false", "-no-color"]);
        const groups = cloud.store.all("as-group");
        expect(groups.map((g) => g.fields.LifecycleState)).toEqual(["Active"]);
        const groupId = groups[0]!.id;
        const serverGroup = () => cloud.store.all("clb-server-group")[0]!.fields.Servers as { InstanceId: string }[];

        // The seed: find the instance the hook holds, complete its lifecycle activity with CONTINUE.
        let held: { InstanceId: string }[] = [];
        for (let i = 0; i < 30 && held.length === 0; i++) {
          const r = await as("DescribeScalingInstances", { ScalingGroupId: groupId, Status: "Pending:Wait" });
          held = r.body.Result.ScalingInstances;
          if (held.length === 0) await new Promise((r) => setTimeout(r, 500));
        }
        expect(held.length).toBe(1);
        // Held by the hook: out of the server group, or (before-hook) in it already.
        expect(serverGroup().map((s) => s.InstanceId)).toEqual(
          answers.scalingHookServerGroup === "before-hook" ? [held[0]!.InstanceId] : [],
        );
        const activities = await as("DescribeLifecycleActivities", {
          InstanceId: held[0]!.InstanceId,
          LifecycleActivityStatus: "Waiting",
        });
        const [activity] = activities.body.Result.LifecycleActivities;
        const done = await as("CompleteLifecycleActivity", {
          LifecycleActivityId: activity.LifecycleActivityId,
          LifecycleActivityPolicy: "CONTINUE",
        });
        expect(done.status).toBe(200);
        expect(serverGroup().map((s) => s.InstanceId)).toEqual([held[0]!.InstanceId]);

        await step(["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        await step(["apply", "-auto-approve", "-input=false", "-no-color", "-var", "desired=0"]);
        expect(cloud.store.all("as-instance")).toEqual([]);
        expect(serverGroup()).toEqual([]);
        await step(["destroy", "-auto-approve", "-input=false", "-no-color", "-var", "desired=0"]);
        // A VPC deleted last is still `Deleting` for one transition time.
        await new Promise((r) => setTimeout(r, 1100));
        expect(cloud.store.snapshot().map((r) => `${r.kind}/${r.id}`)).toEqual([]);
        const record = process.env.SCALING_RECORD;
        if (record) {
          const dir = id === "defaults" ? record : path.join(record, id);
          mkdirSync(dir, { recursive: true });
          if (dir !== record) writeFileSync(path.join(dir, "answers.json"), `${JSON.stringify(answers)}\n`);
          const calls = cloud.log.calls.map((c) => JSON.stringify(c)).join("\n");
          writeFileSync(path.join(dir, "scaling-group-v0.0.196.jsonl"), `${calls}\n`);
        }
      } finally {
        // Whatever failed, nothing stays in the stand-in's state for the next run: it is in memory only.
        terraform.cleanup();
        await cloud.close();
      }
    },
    900_000,
  );
});

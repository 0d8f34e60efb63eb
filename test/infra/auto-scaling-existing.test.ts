/**
 * `cluster.autoScaling` and an environment that exists: without the option a cluster synthesizes
 * exactly what it did before the option existed (fixtures/cluster-digests.json); adding it to a
 * cluster only adds resources and redeploys the first server (its host settings gain the seed and
 * the publisher), replacing and changing nothing else (fixed servers, RDS, network, load balancer,
 * buckets, roles); removing it again destroys exactly what it added.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import digests from "./fixtures/cluster-digests.json";
import { addressesOf } from "./address-variants.js";
import { changeEffects } from "./change-effects.js";
import { CLUSTER_DIGEST_VARIANTS, stackDigest } from "./cluster-digests.js";
import { cleanupSynthDirs, fakeRelease, synth, type TfJson } from "./synth-helpers.js";

const release = fakeRelease(mkdtempSync(path.join(tmpdir(), "todo-scaling-release-")), "0123456789ab");
afterAll(() => {
  cleanupSynthDirs();
  rmSync(path.dirname(release.path), { recursive: true, force: true });
});

/** What the option adds: the group and its parts, the fleet's IAM, the pointer step, one rule, two outputs. */
const ADDED = [
  /^volcengine_scaling_(group|configuration|configuration_attachment|lifecycle_hook|group_enabler)\.scaling_[\w-]+_[0-9A-F]{8}$/,
  /^terraform_data\.scaling_drain_[0-9A-F]{8}$/,
  /^(volcengine_iam_(role|policy|role_policy_attachment)|terraform_data)\.fleet-access_[\w-]+_[0-9A-F]{8}$/,
  /^null_resource\.fleet-pointer_point_[0-9A-F]{8}$/,
  /^local\.fleet-pointer_ssh-private-key_content_[0-9A-F]{8}$/,
  /^volcengine_security_group_rule\.network_app-ingress-80-from-app_[0-9A-F]{8}$/,
  /^output\.scaling_group_(id|name)$/,
];
/** What it changes: the first server's deploy step (a redeploy, not a new server). */
const CHANGED = [/^null_resource\.app_server-1_release_[0-9A-F]{8}$/];

const withOption = (env: Record<string, unknown>) => ({
  ...env,
  cluster: { ...(env.cluster as object), autoScaling: { maxServers: 3, desiredServers: 1 } },
});
const stacks: Record<string, { before: TfJson; after: TfJson; releaseDir: string }> = {};
beforeAll(async () => {
  for (const [variant, env] of Object.entries(CLUSTER_DIGEST_VARIANTS)) {
    const before = await synth({ environments: { v: env }, release });
    const after = await synth({ environments: { v: withOption(env) }, release });
    stacks[variant] = {
      before: before.stacks["todo-api-v"]!,
      after: after.stacks["todo-api-v"]!,
      releaseDir: path.dirname(release.path),
    };
  }
});

/** One address's JSON in a stack (resources, locals, outputs; undefined when absent). */
function at(tf: TfJson, address: string): unknown {
  const [head, ...rest] = address.split(".");
  if (head === "local") return tf.locals?.[rest.join(".")];
  if (head === "output") return tf.output?.[rest.join(".")];
  if (head === "var") return tf.variable?.[rest.join(".")];
  if (head === "data") return tf.data?.[rest[0]!]?.[rest.slice(1).join(".")];
  return tf.resource?.[head!]?.[rest.join(".")];
}

describe.each(Object.keys(CLUSTER_DIGEST_VARIANTS))("%s", (variant) => {
  it("synthesizes without the option exactly as before the option existed", () => {
    const { before, releaseDir } = stacks[variant]!;
    expect(stackDigest(before, releaseDir)).toBe((digests as Record<string, string>)[variant]);
  });

  it("adding the option adds its resources, redeploys the first server, and changes nothing else", () => {
    const { before, after } = stacks[variant]!;
    const old = new Set(addressesOf(before));
    const added = addressesOf(after).filter((a) => !old.has(a));
    for (const address of added)
      expect(
        ADDED.some((re) => re.test(address)),
        address,
      ).toBe(true);
    expect(added.length).toBeGreaterThanOrEqual(17);
    const changed = addressesOf(before).filter((a) => JSON.stringify(at(before, a)) !== JSON.stringify(at(after, a)));
    expect(changed).toHaveLength(1);
    expect(CHANGED[0]!.test(changed[0]!), changed[0]).toBe(true);
    expect(changeEffects(before, after)).toEqual({ replaced: [], destroyed: [] });
    // The moved blocks and checks of the stack before are all still there.
    expect(after.moved).toEqual(before.moved);
    for (const [name, check] of Object.entries<unknown>(before.check ?? {})) expect(after.check[name]).toEqual(check);
  });

  it("removing the option again destroys exactly what it added and replaces nothing", () => {
    const { before, after } = stacks[variant]!;
    const kept = new Set(addressesOf(before));
    const gone = addressesOf(after).filter((a) => !kept.has(a));
    expect(gone.every((a) => ADDED.some((re) => re.test(a)))).toBe(true);
    expect(changeEffects(after, before)).toEqual({ replaced: [], destroyed: [] });
  });
});

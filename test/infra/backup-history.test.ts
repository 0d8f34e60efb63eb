/**
 * Backups the server cannot destroy. The bucket is versioned, the lifecycle
 * rule expires current dumps and the versions they leave behind after the retention, and the
 * server's role may write, read and list dumps but never delete one, a version, or change the
 * bucket's versioning, lifecycle, policy or ACLs. For an environment that already exists: turning
 * versioning on is an in-place update of the bucket, checked with the real provider's plan.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADDRESS_VARIANTS } from "./address-variants.js";
import { baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";
import { providerMirror, terraformWithMirror } from "./provider-mirror.js";

afterAll(cleanupSynthDirs);

type Statement = { Effect: string; Action: string[]; Resource: string[] };
const policyOf = (tf: TfJson) =>
  JSON.parse(resources(tf, "volcengine_iam_policy")[0]!.policy_document) as { Statement: Statement[] };
/** Whether an IAM action pattern (prefix wildcards, as Volcengine IAM allows) covers an action. */
const covers = (pattern: string, action: string) =>
  pattern.endsWith("*")
    ? action.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase())
    : pattern.toLowerCase() === action.toLowerCase();

describe("the backup bucket keeps its history (every topology)", () => {
  const stacks: Record<string, TfJson> = {};
  beforeAll(async () => {
    for (const variant of ["single local", "cluster without certificate"]) {
      stacks[variant] = (await synth({ environments: { v: ADDRESS_VARIANTS[variant]! } })).stacks["todo-api-v"]!;
    }
  });

  it("turns versioning on", () => {
    for (const [variant, tf] of Object.entries(stacks))
      expect(resources(tf, "volcengine_tos_bucket")[0]!.enable_version, variant).toBe(true);
  });

  it("expires current dumps and non-current versions after the retention, and stale uploads after a day", async () => {
    const tf = (await synth({ environments: { v: baseEnvironment({ backups: { retentionDays: 9 } }) } })).stacks[
      "todo-api-v"
    ]!;
    expect(resources(tf, "volcengine_tos_bucket_lifecycle")[0]!.rules).toEqual([
      {
        id: "expire-backups",
        status: "Enabled",
        prefix: "postgres/",
        expiration: { days: 9 },
        non_current_version_expiration: { non_current_days: 9 },
        abort_incomplete_multipart_upload: { days_after_initiation: 1 },
      },
    ]);
  });

  it("lets the role write, read and list dumps, and denies every delete and every bucket setting", () => {
    // What cloud-init/lib/offsite.mjs sends: PutObject, GetObject, ListObjectsV2 (ListBucket).
    const needed = ["tos:PutObject", "tos:GetObject", "tos:ListBucket"];
    const forbidden = [
      "tos:DeleteObject",
      "tos:DeleteObjectVersion",
      "tos:DeleteMultipleObjects",
      "tos:DeleteBucket",
      "tos:DeleteBucketPolicy",
      "tos:DeleteBucketLifecycle",
      "tos:PutBucketVersioning",
      "tos:PutBucketPolicy",
      "tos:PutBucketACL",
      "tos:PutBucketLifecycle",
      "tos:PutLifecycleConfiguration",
      "tos:PutBucketObjectLockConfiguration",
      "tos:PutObjectACL",
    ];
    for (const [variant, tf] of Object.entries(stacks)) {
      const bucket = resources(tf, "volcengine_tos_bucket")[0]!.bucket_name as string;
      const { Statement } = policyOf(tf);
      const allowed = Statement.filter((s) => s.Effect === "Allow").flatMap((s) => s.Action);
      const denied = Statement.filter((s) => s.Effect === "Deny");
      for (const action of needed) {
        expect(allowed, `${variant} allows ${action}`).toContain(action);
        expect(
          denied.some((s) => s.Action.some((p) => covers(p, action))),
          `${variant} denies ${action}`,
        ).toBe(false);
      }
      for (const action of forbidden) {
        expect(
          allowed.some((p) => covers(p, action)),
          `${variant} allows ${action}`,
        ).toBe(false);
        const deny = denied.find((s) => s.Action.some((p) => covers(p, action)));
        expect(deny, `${variant} denies ${action}`).toBeDefined();
        // On the bucket and on every object in it, not only on the dump prefix.
        expect(deny!.Resource.sort()).toEqual([`trn:tos:::${bucket}`, `trn:tos:::${bucket}/*`]);
      }
    }
  });
});

const mirror = providerMirror();

describe("an environment whose bucket was created without versioning (real provider, offline plan)", () => {
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }

  /**
   * Plans the synthesized bucket against a state holding the bucket as the previous version
   * created it (enable_version false, which is what the provider reads back for a bucket that was
   * never versioned). -refresh=false and -target: only the provider's own diff runs, no API call.
   */
  async function planBucket(stateEnableVersion: boolean, configEnableVersion: boolean) {
    const tf = (await synth({ environments: { v: ADDRESS_VARIANTS["single local"]! } })).stacks["todo-api-v"]!;
    const [id, bucket] = Object.entries<any>(tf.resource.volcengine_tos_bucket)[0]!;
    const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-versioning-"));
    try {
      const config = {
        terraform: { required_providers: { volcengine: tf.terraform.required_providers.volcengine } },
        provider: tf.provider,
        resource: { volcengine_tos_bucket: { [id]: { ...bucket, enable_version: configEnableVersion } } },
      };
      writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config));
      const attributes = {
        id: bucket.bucket_name,
        bucket_name: bucket.bucket_name,
        public_acl: "private",
        storage_class: "STANDARD",
        enable_version: stateEnableVersion,
        az_redundancy: "single-az",
        project_name: "default",
        bucket_type: "fns",
        tags: bucket.tags,
      };
      const state = {
        version: 4,
        terraform_version: "1.11.0",
        serial: 1,
        lineage: "3f1c7a52-0d8e-4b1e-9a57-backup000017",
        outputs: {},
        resources: [
          {
            mode: "managed",
            type: "volcengine_tos_bucket",
            name: id,
            provider: 'provider["registry.terraform.io/volcengine/volcengine"]',
            instances: [{ schema_version: 0, attributes }],
          },
        ],
      };
      writeFileSync(path.join(dir, "terraform.tfstate"), JSON.stringify(state));
      const run = terraformWithMirror(mirror.path!, dir, {
        // The provider refuses to start without keys; nothing is called (-refresh=false), and the
        // endpoint points nowhere in case something were.
        VOLCENGINE_ACCESS_KEY: "AKLTplanonly",
        VOLCENGINE_SECRET_KEY: "planonly",
        VOLCENGINE_ENDPOINT: "127.0.0.1:9",
      });
      try {
        const init = run(["init", "-input=false", "-no-color"]);
        expect(init.status, init.stdout + init.stderr).toBe(0);
        const plan = run([
          "plan",
          "-refresh=false",
          "-input=false",
          "-no-color",
          `-target=volcengine_tos_bucket.${id}`,
          "-out=plan.bin",
        ]);
        expect(plan.status, plan.stdout + plan.stderr).toBe(0);
        const show = run(["show", "-json", "plan.bin"]);
        const changes = (
          JSON.parse(show.stdout) as {
            resource_changes: { address: string; change: { actions: string[]; before: any; after: any } }[];
          }
        ).resource_changes;
        return changes.find((c) => c.address === `volcengine_tos_bucket.${id}`)!.change;
      } finally {
        run.cleanup();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("turns versioning on in place: the bucket (and the dumps in it) is not replaced", async () => {
    const change = await planBucket(false, true);
    expect(change.actions).toEqual(["update"]);
    expect([change.before.enable_version, change.after.enable_version]).toEqual([false, true]);
  }, 180_000);

  it("would also only update (TOS suspends, never removes versioning) if it were turned off again", async () => {
    expect((await planBucket(true, false)).actions).toEqual(["update"]);
  }, 180_000);
});

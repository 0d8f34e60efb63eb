import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import { decodeCloudConfig } from "../cloud-init/helpers.js";
import {
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  infra,
  projectSchemas,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";

/** Off-server backups (TOS bucket, IAM role) and CloudMonitor alarms in the synthesized stacks. */
afterAll(() => cleanupSynthDirs());

const ALERTS = { email: "oncall@example.com" };
const only = (tf: TfJson, type: string) => {
  const all = resources(tf, type);
  expect(all, type).toHaveLength(1);
  return all[0]!;
};
/** The Terraform address a "${type.name.attr}" reference points at. */
const ref = (tf: TfJson, type: string, attr = "id") => `\${${type}.${Object.keys(tf.resource[type])[0]}.${attr}}`;

function hostConf(tf: TfJson): string {
  const text = Buffer.from(only(tf, "volcengine_ecs_instance").user_data, "base64").toString("utf8");
  return decodeCloudConfig(text).files.get("/etc/todo-host.conf")!.content;
}

describe("backups off the server (single server)", () => {
  let tf: TfJson;
  beforeAll(async () => {
    tf = (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;
  });

  it("passes the provider schema check", () => {
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
  });

  it("creates a private bucket, granting no other account anything", () => {
    const bucket = only(tf, "volcengine_tos_bucket");
    expect(bucket.public_acl).toBe("private");
    expect(bucket.bucket_name).toMatch(/^todo-api-dev-backups-[0-9a-f]{8}$/);
    expect(bucket.account_acl).toBeUndefined();
    expect(resources(tf, "volcengine_tos_bucket_policy")).toEqual([]);
  });

  it("expires backups after 30 days by default with a lifecycle rule on the dump prefix", () => {
    const lifecycle = only(tf, "volcengine_tos_bucket_lifecycle");
    expect(lifecycle.bucket_name).toBe(ref(tf, "volcengine_tos_bucket", "bucket_name"));
    expect(lifecycle.rules).toEqual([
      expect.objectContaining({ status: "Enabled", prefix: "postgres/", expiration: { days: 30 } }),
    ]);
  });

  it("gives the server a role trusted by ECS whose policy reaches only that bucket, without delete", () => {
    const bucketName = only(tf, "volcengine_tos_bucket").bucket_name as string;
    const role = only(tf, "volcengine_iam_role");
    expect(role.role_name).toBe("todo-api-dev-backup");
    expect(JSON.parse(role.trust_policy_document)).toEqual({
      Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
    });

    const policy = only(tf, "volcengine_iam_policy");
    const doc = JSON.parse(policy.policy_document) as {
      Statement: { Effect: string; Action: string[]; Resource: string[] }[];
    };
    // What is allowed; the explicit Deny statement is checked in backup-history.test.ts.
    const allowed = doc.Statement.filter((s) => s.Effect === "Allow");
    const actions = allowed.flatMap((s) => s.Action).sort();
    expect(actions).toEqual(["tos:GetObject", "tos:ListBucket", "tos:PutObject"]);
    for (const statement of doc.Statement) {
      for (const resource of statement.Resource) {
        expect(resource).not.toBe("*");
        expect(
          resource === `trn:tos:::${bucketName}` || resource.startsWith(`trn:tos:::${bucketName}/`),
          resource,
        ).toBe(true);
      }
    }
    expect(actions.some((a) => a.includes("*") || /Delete/i.test(a))).toBe(false);

    expect(only(tf, "volcengine_iam_role_policy_attachment")).toMatchObject({
      role_name: ref(tf, "volcengine_iam_role", "role_name"),
      policy_name: ref(tf, "volcengine_iam_policy", "policy_name"),
      policy_type: "Custom",
    });
    expect(only(tf, "volcengine_iam_role_attachment")).toMatchObject({
      iam_role_name: ref(tf, "volcengine_iam_role", "role_name"),
      instance_id: ref(tf, "volcengine_ecs_instance"),
    });
  });

  it("tells the server (user data) the bucket, region, endpoint and role, and no key", () => {
    const bucketName = only(tf, "volcengine_tos_bucket").bucket_name as string;
    const conf = hostConf(tf);
    expect(conf).toContain(`OFFSITE_BUCKET='${bucketName}'`);
    expect(conf).toContain("OFFSITE_REGION='cn-beijing'");
    expect(conf).toContain("OFFSITE_ENDPOINT='https://tos-s3-cn-beijing.volces.com'");
    expect(conf).toContain("OFFSITE_ROLE='todo-api-dev-backup'");
    expect(conf).not.toMatch(/^\w*(ACCESS_KEY|SECRET|TOKEN)\w*=/m);
    expect(resources(tf, "volcengine_iam_access_key" as string)).toEqual([]);
    expect(tf.output.backup_bucket.value).toBe(bucketName);
  });

  it("creates no alarm without an alert e-mail", () => {
    for (const type of [
      "volcengine_cloud_monitor_rule",
      "volcengine_cloud_monitor_contact",
      "volcengine_cloud_monitor_contact_group",
    ]) {
      expect(resources(tf, type)).toEqual([]);
    }
  });
});

describe("backup settings", () => {
  it("take the retention, bucket name and endpoint from the configuration", async () => {
    const tf = (
      await synth({
        environments: {
          prod: baseEnvironment({
            backups: {
              retentionDays: 7,
              bucketName: "my-todo-backups",
              endpoint: "https://tos-s3-cn-beijing.ivolces.com",
            },
          }),
        },
      })
    ).stacks["todo-api-prod"]!;
    expect(only(tf, "volcengine_tos_bucket").bucket_name).toBe("my-todo-backups");
    expect(only(tf, "volcengine_tos_bucket_lifecycle").rules[0].expiration).toEqual({ days: 7 });
    expect(hostConf(tf)).toContain("OFFSITE_ENDPOINT='https://tos-s3-cn-beijing.ivolces.com'");
    expect(JSON.parse(only(tf, "volcengine_iam_policy").policy_document).Statement[1].Resource).toEqual([
      "trn:tos:::my-todo-backups",
    ]);
  });

  it("default bucket names are stable, valid, and differ between environments, regions and shared states", async () => {
    await infra();
    const { defaultBackupBucketName } = await import("../../infra/config/operations.js");
    const a = defaultBackupBucketName("todo-api-dev", "cn-beijing", "local");
    expect(defaultBackupBucketName("todo-api-dev", "cn-beijing", "local")).toBe(a);
    expect(defaultBackupBucketName("todo-api-prod", "cn-beijing", "local")).not.toBe(a);
    expect(defaultBackupBucketName("todo-api-dev", "cn-shanghai", "local")).not.toBe(a);
    expect(defaultBackupBucketName("todo-api-dev", "cn-beijing", "s3://team-state/todo-api")).not.toBe(a);
    const long = defaultBackupBucketName(`${"a".repeat(21)}-${"b".repeat(21)}`, "cn-beijing", "local");
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  });

  it("bad values are refused with clear messages", async () => {
    const { parseStackConfig } = await infra();
    const { StackConfigError } = await import("../../infra/config/load.js");
    const problems = (env: Record<string, unknown>) => {
      try {
        parseStackConfig({ environments: { dev: env } }, { source: "/x/stack.config.json" });
      } catch (err) {
        if (err instanceof StackConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(
      problems(
        baseEnvironment({
          backups: { retentionDays: 0, bucketName: "Bad_Name" },
          alerts: { email: "nope", webhook: "https://x.example.com/token" },
        }),
      ),
    ).toEqual([
      "environments.dev.backups.retentionDays: Too small: expected number to be >=1",
      "environments.dev.backups.bucketName: must be a TOS bucket name: 3-63 lowercase letters, digits and '-', not starting or ending with '-'",
      "environments.dev.alerts.email: must be an e-mail address that receives the alarms",
      'environments.dev.alerts.webhook: the webhook URL is a secret and must not be in stack.config.json (it would be written into cdk.tf.json and printed by plans): write "webhook": true here and set TF_VAR_alert_webhook to the URL when you deploy',
    ]);
  });
});

describe("CloudMonitor alarms", () => {
  const rules = (tf: TfJson) =>
    Object.fromEntries(resources(tf, "volcengine_cloud_monitor_rule").map((r) => [r.rule_name as string, r]));

  it("notify a contact group with the alert e-mail: CPU > 80% for 5 minutes, memory > 85%, disk > 85%", async () => {
    const tf = (await synth({ environments: { dev: baseEnvironment({ alerts: ALERTS }) } })).stacks["todo-api-dev"]!;
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
    expect(only(tf, "volcengine_cloud_monitor_contact")).toMatchObject({ email: "oncall@example.com" });
    expect(only(tf, "volcengine_cloud_monitor_contact_group").contacts_id_list).toEqual([
      ref(tf, "volcengine_cloud_monitor_contact"),
    ]);
    const byName = rules(tf);
    expect(Object.keys(byName).sort()).toEqual(["todo-api-dev-cpu", "todo-api-dev-disk", "todo-api-dev-memory"]);
    const instance = ref(tf, "volcengine_ecs_instance");
    // Namespaces and sub-namespaces as in Volcengine's CloudMonitor metric schema
    // (volcengine/mcp-server, mcp_server_cloudmonitor/server.py): disk usage is in "Storage".
    const expected = {
      "todo-api-dev-cpu": { metric: "CpuTotal", sub: "Instance", threshold: "80", evaluation: 5 },
      "todo-api-dev-memory": { metric: "MemoryUsedUtilization", sub: "Instance", threshold: "85", evaluation: 3 },
      "todo-api-dev-disk": { metric: "DiskUsageUtilization", sub: "Storage", threshold: "85", evaluation: 1 },
    };
    for (const [name, want] of Object.entries(expected)) {
      const rule = byName[name]!;
      expect(rule).toMatchObject({
        namespace: "VCM_ECS",
        sub_namespace: want.sub,
        regions: ["cn-beijing"],
        enable_state: "enable",
        alert_methods: ["Email"],
        contact_group_ids: [ref(tf, "volcengine_cloud_monitor_contact_group")],
        evaluation_count: want.evaluation,
        original_dimensions: [{ key: "ResourceID", value: [instance] }],
        recovery_notify: { enable: true },
      });
      expect(rule.conditions).toEqual([
        expect.objectContaining({
          metric_name: want.metric,
          comparison_operator: ">",
          threshold: want.threshold,
          metric_unit: "Percent",
        }),
      ]);
      expect(rule.web_hook).toBeUndefined();
      // the provider accepts only these evaluation counts (minutes)
      expect([1, 3, 5, 10, 15, 30, 60, 120]).toContain(rule.evaluation_count);
    }
  });

  it("also call the webhook when one is configured (its URL from the sensitive variable)", async () => {
    const tf = (await synth({ environments: { dev: baseEnvironment({ alerts: { ...ALERTS, webhook: true } }) } }))
      .stacks["todo-api-dev"]!;
    for (const rule of resources(tf, "volcengine_cloud_monitor_rule")) {
      expect(rule.alert_methods).toEqual(["Email", "Webhook"]);
      expect(rule.web_hook).toBe("${var.alert_webhook}");
    }
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
  });

  it("in rds mode also watch the database's CPU and storage", async () => {
    const tf = (await synth({ environments: { dev: baseEnvironment({ database: RDS, alerts: ALERTS }) } })).stacks[
      "todo-api-dev"
    ]!;
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
    const byName = rules(tf);
    const rds = ref(tf, "volcengine_rds_postgresql_instance");
    expect(byName["todo-api-dev-db-cpu"]).toMatchObject({
      namespace: "VCM_RDS_PostgreSQL",
      evaluation_count: 5,
      original_dimensions: [{ key: "ResourceID", value: [rds] }],
    });
    expect(byName["todo-api-dev-db-storage"]).toMatchObject({
      namespace: "VCM_RDS_PostgreSQL",
      original_dimensions: [{ key: "ResourceID", value: [rds] }],
    });
    expect(byName["todo-api-dev-db-cpu"]!.conditions[0]).toMatchObject({ threshold: "80", comparison_operator: ">" });
    expect(byName["todo-api-dev-db-storage"]!.conditions[0]).toMatchObject({
      threshold: "85",
      comparison_operator: ">",
    });
    expect(Object.keys(byName)).toHaveLength(5);
    // the independent copy of the RDS database goes to the same kind of bucket
    expect(only(tf, "volcengine_iam_role_attachment").instance_id).toBe(ref(tf, "volcengine_ecs_instance"));
    expect(hostConf(tf)).toContain(`OFFSITE_BUCKET='${only(tf, "volcengine_tos_bucket").bucket_name}'`);
  });

  it("in the cluster topology watch every app server and the database", async () => {
    const tf = (
      await synth({ environments: { prod: baseEnvironment({ topology: "cluster", database: RDS, alerts: ALERTS }) } })
    ).stacks["todo-api-prod"]!;
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
    const names = Object.keys(rules(tf)).sort();
    expect(names).toEqual(
      [
        "todo-api-prod-app-1-cpu",
        "todo-api-prod-app-1-disk",
        "todo-api-prod-app-1-memory",
        "todo-api-prod-app-2-cpu",
        "todo-api-prod-app-2-disk",
        "todo-api-prod-app-2-memory",
        "todo-api-prod-db-cpu",
        "todo-api-prod-db-storage",
        "todo-api-prod-unhealthy-servers",
      ].sort(),
    );
    // The app's health as the load balancer sees it: its /readyz checks, per listener.
    const health = rules(tf)["todo-api-prod-unhealthy-servers"]!;
    const httpListener = Object.entries(tf.resource.volcengine_listener as Record<string, { port: number }>).find(
      ([, l]) => l.port === 80,
    )![0];
    expect(health).toMatchObject({
      namespace: "VCM_CLB",
      sub_namespace: "listener",
      evaluation_count: 3,
      contact_group_ids: [ref(tf, "volcengine_cloud_monitor_contact_group")],
      original_dimensions: [
        { key: "ResourceID", value: [ref(tf, "volcengine_clb")] },
        { key: "ListenerID", value: [`\${volcengine_listener.${httpListener}.listener_id}`] },
      ],
    });
    expect(health.conditions).toEqual([
      expect.objectContaining({
        metric_name: "listener_unhealthy_rs_count",
        metric_unit: "Count",
        comparison_operator: ">",
        threshold: "0",
        statistics: "max",
      }),
    ]);
    const instances = Object.keys(tf.resource.volcengine_ecs_instance).filter((k) => k.includes("server"));
    const watched = resources(tf, "volcengine_cloud_monitor_rule").flatMap(
      (r) => r.original_dimensions[0].value as string[],
    );
    expect(watched).toContain(ref(tf, "volcengine_clb"));
    for (const key of instances.filter((k) => !k.includes("bastion")))
      expect(watched).toContain(`\${volcengine_ecs_instance.${key}.id}`);
  });
});

/**
 * What `cluster.autoScaling` synthesizes: the scaling group and its parts as
 * test/local-cloud/scaling/main.tf proved them with the real provider, the destroy-time drain, the
 * IAM documents, the first server's deploy step (seed and publisher in its host settings only) and
 * the step that moves `fleet/current` after the rollout.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import { USER_DATA_LIMIT_BYTES } from "../../contract/server.js";
import { SEED_GROUP_PLACEHOLDER } from "../../infra/stacks/scaling-parts.js";
import { entries, groupByName, ingressOf, ref } from "./cluster-helpers.js";
import {
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  fakeRelease,
  projectSchemas,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";

afterAll(() => {
  cleanupSynthDirs();
  rmSync(path.dirname(release.path), { recursive: true, force: true });
});

const AUTO = { minServers: 1, maxServers: 4, desiredServers: 2 };
const clusterEnv = (cluster: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  baseEnvironment({ topology: "cluster", database: RDS, cluster, ...extra });
// One release for every synth, so that steps compare whole (the upload's source path included).
const release = fakeRelease(mkdtempSync(path.join(tmpdir(), "todo-scaling-release-")), "0123456789ab");
const one = async (env: Record<string, unknown>) =>
  (await synth({ environments: { v: env }, release })).stacks["todo-api-v"]!;
const only = (tf: TfJson, type: string): [string, any] => {
  const found = entries(tf, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
const policyDocument = (tf: TfJson, suffix: string) =>
  JSON.parse(resources(tf, "volcengine_iam_policy").find((p) => p.policy_name.endsWith(suffix))!.policy_document);
const deployStep = (tf: TfJson, n: number) =>
  Object.entries<any>(tf.resource.null_resource).find(([k]) => k.startsWith(`app_server-${n}_release_`))![1];
const scriptLines = (step: any): string[] => step.provisioner.flatMap((p: any) => p["remote-exec"]?.inline ?? []);

let plain: TfJson;
let scaled: TfJson;
beforeAll(async () => {
  plain = await one(clusterEnv());
  scaled = await one(clusterEnv({ autoScaling: AUTO }));
});

describe("the scaling group", () => {
  it("passes the provider's schema", () => {
    expect(formatProblems(checkTerraformJson(scaled, projectSchemas()))).toBe("");
  });

  it("spans both app subnets, balanced, with the configured counts, and joins the load balancer's group on port 80", () => {
    const [, group] = only(scaled, "volcengine_scaling_group");
    const subnets = entries(scaled, "volcengine_subnet")
      .filter(([, s]) => !s.subnet_name.endsWith("-lb"))
      .map(([a]) => a);
    expect(group.subnet_ids.map(ref).sort()).toEqual(subnets.sort());
    expect(group).toMatchObject({
      scaling_group_name: "todo-api-v-fleet",
      multi_az_policy: "BALANCE",
      min_instance_number: 1,
      max_instance_number: 4,
      desire_instance_number: 2,
      default_cooldown: 300,
      instance_terminate_policy: "OldestInstance",
    });
    const [serverGroup] = only(scaled, "volcengine_server_group");
    expect(group.server_group_attributes).toEqual([
      { server_group_id: `\${${serverGroup}.id}`, port: 80, weight: 100 },
    ]);
  });

  it("desires minServers when desiredServers is not set", async () => {
    const tf = await one(clusterEnv({ autoScaling: { minServers: 2, maxServers: 3 } }));
    expect(only(tf, "volcengine_scaling_group")[1].desire_instance_number).toBe(2);
  });

  it("starts servers like the fixed ones: image, key pair, security group, disk; its own instance type when set", async () => {
    const [, config] = only(scaled, "volcengine_scaling_configuration");
    const fixed = entries(scaled, "volcengine_ecs_instance").find(([, r]) => r.instance_name.endsWith("-app-1"))![1];
    expect(config.image_id).toBe(fixed.image_id);
    expect(config.key_pair_name).toBe(fixed.key_pair_name);
    expect(config.security_group_ids).toEqual(fixed.security_group_ids);
    expect(config.instance_types).toEqual([fixed.instance_type]);
    expect(config.volumes).toEqual([
      { volume_type: fixed.system_volume_type, size: fixed.system_volume_size, delete_with_instance: true },
    ]);
    expect(config.tags).toContainEqual({ key: "todo-fleet", value: "todo-api-v" });
    const own = await one(clusterEnv({ autoScaling: { maxServers: 2, instanceType: "ecs.g3il.xlarge" } }));
    expect(only(own, "volcengine_scaling_configuration")[1].instance_types).toEqual(["ecs.g3il.xlarge"]);
  });

  it("boots its servers from the other servers' user data plus the fleet member's settings, no secret in it", () => {
    const [, config] = only(scaled, "volcengine_scaling_configuration");
    const userData = decode(config.user_data);
    const other = decode(
      entries(scaled, "volcengine_ecs_instance").find(([, r]) => r.instance_name.endsWith("-app-2"))![1].user_data,
    );
    expect(userData).toContain("FLEET_MEMBER='1'");
    expect(userData).toContain("FLEET_ROLE='todo-api-v-fleet'");
    expect(userData).toMatch(/FLEET_BUCKET='todo-api-v-backups-[0-9a-f]+'/);
    expect(userData).not.toContain("SEED_");
    expect(other).not.toContain("FLEET_");
    expect(userData).not.toMatch(/JWT_SECRET=|DATABASE_URL=|password/i);
  });

  it("keeps the largest variant's scaling user data within ECS's limit", async () => {
    const tf = await one(
      clusterEnv(
        { autoScaling: AUTO },
        {
          files: { corsOrigins: ["https://app.example.com"] },
          alerts: { email: "ops@example.com" },
          nodeMirror: "https://npmmirror.com/mirrors/node",
          adminConsole: { allowCidrs: ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24"] },
        },
      ),
    );
    const bytes = Buffer.byteLength(decode(only(tf, "volcengine_scaling_configuration")[1].user_data));
    expect(bytes).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
  });

  it("activates the configuration, holds new servers (REJECT, 900 s) and leaving ones (CONTINUE, 60 s), and enables the group last", () => {
    const [config] = only(scaled, "volcengine_scaling_configuration");
    const [attachment, attached] = only(scaled, "volcengine_scaling_configuration_attachment");
    expect(attached.scaling_configuration_id).toBe(`\${${config}.id}`);
    const hooks = entries(scaled, "volcengine_scaling_lifecycle_hook").map(([a, h]) => [
      a,
      h.lifecycle_hook_type,
      h.lifecycle_hook_policy,
      h.lifecycle_hook_timeout,
    ]);
    expect(hooks.map(([, ...rest]) => rest).sort()).toEqual([
      ["SCALE_IN", "CONTINUE", 60],
      ["SCALE_OUT", "REJECT", 900],
    ]);
    const [enabler, enabled] = only(scaled, "volcengine_scaling_group_enabler");
    const [pointer] = entries(scaled, "null_resource").filter(([a]) => a.includes("fleet-pointer"))[0]!;
    const policies = entries(scaled, "volcengine_iam_role_policy_attachment")
      .filter(([a]) => a.includes("fleet-access"))
      .map(([a]) => a);
    expect(policies).toHaveLength(2);
    expect(enabled.depends_on.sort()).toEqual([attachment, ...hooks.map(([a]) => a), pointer, ...policies].sort());
    // The drain runs first on destroy: it depends on the enabler, so it goes before the group is disabled.
    const [, drain] = entries(scaled, "terraform_data").find(([a]) => a.includes("scaling_drain"))!;
    expect(drain.depends_on).toEqual([enabler]);
    const [group] = only(scaled, "volcengine_scaling_group");
    expect(drain.input.group_id).toBe(`\${${group}.id}`);
    expect(drain.provisioner).toEqual([
      {
        "local-exec": {
          when: "destroy",
          command: expect.stringMatching(
            /^node assets\/[\w-]+\/[0-9A-F]+\/scaling-drain\.mjs assets\/[\w-]+\/[0-9A-F]+\/volc-openapi\.mjs \$\{self\.input\.group_id\} \$\{self\.input\.region\} 1200$/,
          ),
        },
      },
    ]);
  });

  it("lets the app servers reach each other's port 80 (the seed's readiness check), only with the option", () => {
    const app = groupByName(scaled, "-app-sg");
    expect(ingressOf(scaled, app)).toContain(`tcp/80-80 from group ${app}`);
    expect(ingressOf(plain, groupByName(plain, "-app-sg"))).not.toContain(`tcp/80-80 from group ${app}`);
  });

  it("outputs the group's id and name", () => {
    expect(scaled.output.scaling_group_id.value).toBe(`\${${only(scaled, "volcengine_scaling_group")[0]}.id}`);
    expect(scaled.output.scaling_group_name.value).toBe("todo-api-v-fleet");
  });
});

describe("the deploy steps", () => {
  it("tell the first server to seed and publish in its host settings, with the group's id as a Terraform value", () => {
    const step = deployStep(scaled, 1);
    const lines = scriptLines(step);
    const [group] = only(scaled, "volcengine_scaling_group");
    expect(lines).toContain(`SEED_GROUP_ID='\${${group}.id}'`);
    expect(lines).toContain("SEED_APP_ROLE='todo-api-v-fleet'");
    expect(lines).toContain("SEED_ENDPOINT='https://open.volcengineapi.com'");
    expect(lines).toContain("FLEET_MEMBER='0'");
    expect(lines.join("\n")).not.toContain(SEED_GROUP_PLACEHOLDER);
    expect(step.triggers.seed_group_id).toBe(`\${${group}.id}`);
  });

  it("publish on the first server before the switch removes the tarball", () => {
    const lines = scriptLines(deployStep(scaled, 1));
    const publish = lines.findIndex((l) => l.includes("todo-fleet-publish /tmp/todo-api-0123456789ab.tar.gz"));
    const release = lines.findIndex((l) => /todo-release deploy \/tmp\//.test(l));
    expect(publish).toBeGreaterThan(-1);
    expect(publish).toBeLessThan(release);
  });

  it("leave the other servers' steps as they are", () => {
    expect(deployStep(scaled, 2)).toEqual(deployStep(plain, 2));
  });

  it("move fleet/current on the first server after the last fixed server, whenever the first server redeploys", async () => {
    const tf = await one(clusterEnv({ servers: 3, autoScaling: AUTO }));
    const [, pointer] = entries(tf, "null_resource").find(([a]) => a.includes("fleet-pointer"))!;
    const last = entries(tf, "null_resource").find(([a]) => a.includes("app_server-3_release"))![0];
    expect(pointer.depends_on).toEqual([last]);
    expect(pointer.triggers).toEqual(deployStep(tf, 1).triggers);
    expect(pointer.connection.host).toBe(deployStep(tf, 1).connection.host);
    expect(pointer.connection.bastion_host).toBe(deployStep(tf, 1).connection.bastion_host);
    expect(scriptLines(pointer).at(-1)).toBe("$SUDO /usr/local/sbin/todo-fleet-publish --point");
  });
});

describe("IAM", () => {
  it("lets the seed (the backup role) admit the group's servers, give them their role and publish, as narrowly as written", () => {
    const [group] = only(scaled, "volcengine_scaling_group");
    const doc = policyDocument(scaled, "-fleet-seed");
    const bucket = resources(scaled, "volcengine_tos_bucket")[0]!.bucket_name;
    expect(doc.Statement).toEqual([
      {
        Effect: "Allow",
        Action: [
          "auto_scaling:DescribeScalingInstances",
          "auto_scaling:DescribeLifecycleActivities",
          "auto_scaling:CompleteLifecycleActivity",
        ],
        Resource: [`trn:auto_scaling:cn-beijing:*:scalinggroup/\${${group}.id}`],
      },
      { Effect: "Allow", Action: ["ecs:DescribeInstances", "ecs:DescribeInstancesIamRoles"], Resource: ["*"] },
      {
        Effect: "Allow",
        Action: ["ecs:AssociateInstancesIamRole"],
        Resource: ["trn:ecs:cn-beijing:*:instance/*", "trn:iam::*:role/todo-api-v-fleet"],
        Condition: { StringEquals: { "volc:ResourceTag/todo-fleet": "todo-api-v" } },
      },
      { Effect: "Allow", Action: ["tos:PutObject"], Resource: [`trn:tos:::${bucket}/fleet/*`] },
    ]);
    const seedAttachment = resources(scaled, "volcengine_iam_role_policy_attachment").find((a) =>
      String(a.policy_name).includes("fleet-access_seed-policy"),
    )!;
    expect(seedAttachment.role_name).toMatch(/^\$\{volcengine_iam_role\.backups_role_[0-9A-F]+\.role_name\}$/);
  });

  it("gives the group's servers a role of their own that reads fleet/ only", () => {
    const bucket = resources(scaled, "volcengine_tos_bucket")[0]!.bucket_name;
    expect(policyDocument(scaled, "-fleet-read").Statement).toEqual([
      { Effect: "Allow", Action: ["tos:GetObject"], Resource: [`trn:tos:::${bucket}/fleet/*`] },
    ]);
    const roles = resources(scaled, "volcengine_iam_role").map((r) => r.role_name);
    expect(roles).toContain("todo-api-v-fleet");
    const read = resources(scaled, "volcengine_iam_role_policy_attachment").find((a) =>
      String(a.policy_name).includes("fleet-access_read-policy"),
    )!;
    expect(read.role_name).toMatch(/fleet-access_role_[0-9A-F]+\.role_name/);
    // No attachment to an instance: the seed associates it with each new server.
    expect(resources(scaled, "volcengine_iam_role_attachment").map((a) => a.iam_role_name)).not.toContainEqual(
      expect.stringContaining("fleet-access"),
    );
  });

  it("reuses the files role when files are on (an instance holds one role)", async () => {
    const tf = await one(clusterEnv({ autoScaling: AUTO }, { files: {} }));
    expect(resources(tf, "volcengine_iam_role").map((r) => r.role_name)).not.toContain("todo-api-v-fleet");
    const read = resources(tf, "volcengine_iam_role_policy_attachment").find((a) =>
      String(a.policy_name).includes("fleet-access_read-policy"),
    )!;
    expect(read.role_name).toMatch(/files_role_[0-9A-F]+\.role_name/);
    expect(policyDocument(tf, "-fleet-seed").Statement[2].Resource).toContain("trn:iam::*:role/todo-api-v-files");
    const userData = decode(only(tf, "volcengine_scaling_configuration")[1].user_data);
    expect(userData).toContain("FLEET_ROLE='todo-api-v-files'");
  });
});

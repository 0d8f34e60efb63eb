/**
 * rehearse:cloud's record-only environment for `cluster.autoScaling` (scenario-config.ts,
 * `cluster-scaling`): the whole stack applied with the real provider, the deploy steps (SSH) made
 * no-ops so that what waits for them (the fleet pointer, then the group's enabler and the
 * destroy-time drain) is applied as `cdktf deploy` orders it. A cluster without the option, then
 * the owner's changes, each checked against docs/deploy.md's table "Checked by the local cloud" as
 * the other environments' are: the option added (only its resources created, only the first
 * server's deploy step replaced), one more server, the group emptied and the option removed (the
 * two deploys docs/scale-out.md gives; only what it added destroyed), the option added again.
 * After each, the seed's calls admit every server the SCALE_OUT hook holds, until the group runs
 * what the configuration asks. Then a destroy with a server still in the group, which the drain
 * (scaling-drain.mjs, run by Terraform on this machine) must empty before the group goes, under
 * either answer of `scalingGroupDelete`.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalCloud } from "../../local-cloud/server.js";
import { compareEffect, effectOfPlan, tableRow, type ChangeEffect } from "./change-table.js";
import type { TerraformSteps } from "./terraform-steps.js";
import { writeEnvironmentConfig, type Variant } from "./scenario-config.js";

/** The deploy steps (null_resource) keep their triggers and order, without SSH or provisioners. */
export function withoutDeploySteps(stack: {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
}): number {
  let n = 0;
  for (const body of Object.values(stack.resource?.null_resource ?? {})) {
    delete body.provisioner;
    delete body.connection;
    n++;
  }
  return n;
}

/** The server kit's OpenAPI client (plain JavaScript without type declarations), as the seed calls. */
type CallAction = (call: {
  endpoint: string;
  region: string;
  creds: { id: string; secret: string };
  service: string;
  version: string;
  action: string;
  params: Record<string, unknown>;
}) => Promise<Record<string, unknown>>;
const OPENAPI_CLIENT: string = "../../cloud-init/lib/volc-openapi.mjs";

export async function runScalingVariant(
  ts: TerraformSteps,
  cloud: LocalCloud,
  variant: Variant,
  table: Map<string, ChangeEffect>,
  where: { repo: string; work: string; noChange: boolean },
): Promise<boolean> {
  const stackDir = join(where.work, variant.id);
  const synth = async (step: string): Promise<boolean> => {
    if (!(await ts.synth(step, where.repo, stackDir, [], "nothing"))) return false;
    const file = join(stackDir, "cdk.tf.json");
    const stack = JSON.parse(readFileSync(file, "utf8"));
    console.log(`deploy steps made no-ops (no server to log in to): ${withoutDeploySteps(stack)}`);
    writeFileSync(file, JSON.stringify(stack, null, 1));
    // The drain's script and the OpenAPI client it imports: Terraform runs them from the stack's folder.
    cpSync(join(where.repo, "cdktf.out", "stacks", "todo-api-dev", "assets"), join(stackDir, "assets"), {
      recursive: true,
    });
    return true;
  };
  const terraform = (step: string, args: string[]) =>
    ts.run(step, "terraform", [...args, "-input=false", "-no-color"], stackDir);
  const { callAction } = (await import(OPENAPI_CLIENT)) as { callAction: CallAction };
  const as = (action: string, params: Record<string, unknown>) =>
    callAction({
      endpoint: cloud.url,
      region: "cn-beijing",
      creds: { id: String(ts.env.VOLCENGINE_ACCESS_KEY), secret: String(ts.env.VOLCENGINE_SECRET_KEY) },
      service: "auto_scaling",
      version: "2020-01-01",
      action,
      params,
    });
  /**
   * The seed's passes until the group runs what the environment asks: every server the SCALE_OUT
   * hook holds is completed with CONTINUE, and each in service must be in the load balancer's
   * server group; without the option, the group and its servers must be gone. At most 3 minutes
   * (a leaving server waits 60 s at the SCALE_IN hook).
   */
  const converge = async (label: string, environment: Record<string, unknown>): Promise<boolean> => {
    const started = Date.now();
    const option = (environment.cluster as { autoScaling?: Record<string, number> } | undefined)?.autoScaling;
    const desired = option ? (option.desiredServers ?? option.minServers ?? 0) : 0;
    let note = "";
    for (let i = 0; i < 360; i++) {
      const group = cloud.store.all("as-group")[0];
      if (!group) {
        note = "no group";
        if (!option) return ts.record(`${label}: the group and its servers are gone`, started, true, note);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const all = ((await as("DescribeScalingInstances", { ScalingGroupId: group.id })).ScalingInstances ?? []) as {
        InstanceId: string;
        Status: string;
      }[];
      for (const held of all.filter((x) => x.Status === "Pending:Wait")) {
        const { LifecycleActivities: activities = [] } = await as("DescribeLifecycleActivities", {
          InstanceId: held.InstanceId,
          LifecycleActivityStatus: "Waiting",
        });
        for (const a of activities as { LifecycleActivityId: string }[])
          await as("CompleteLifecycleActivity", {
            LifecycleActivityId: a.LifecycleActivityId,
            LifecycleActivityPolicy: "CONTINUE",
          });
      }
      const inService = all.filter((x) => x.Status === "InService").map((x) => x.InstanceId);
      const members = (cloud.store.all("clb-server-group")[0]?.fields.Servers ?? []) as { InstanceId: string }[];
      const inGroup = inService.filter((id) => members.some((m) => m.InstanceId === id)).length;
      note = `servers ${all.length}, in service ${inService.length}, in the server group ${inGroup}`;
      if (option && all.length === desired && inService.length === desired && inGroup === desired)
        return ts.record(
          `${label}: ${desired} server(s) admitted at the hook, in the server group`,
          started,
          true,
          note,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    return ts.record(`${label}: the group runs what the configuration asks`, started, false, note);
  };

  console.log(`\n== ${variant.id}`);
  ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, variant.environment);
  let ok =
    (await synth(`${variant.id}: cdktf synth`)) &&
    (await terraform(`${variant.id}: terraform init`, ["init"])).code === 0;
  ok = ok && (await terraform(`${variant.id}: terraform apply`, ["apply", "-auto-approve"])).code === 0;
  ok = ok && (await converge(variant.id, variant.environment));
  ok =
    ok &&
    (await terraform(`${variant.id}: terraform plan (expect no changes)`, ["plan", "-detailed-exitcode"])).code === 0;
  for (const change of ok && !where.noChange ? variant.changes : []) {
    ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, change.environment);
    const planned = (await synth(`${change.id}: cdktf synth`))
      ? await ts.planChanges(change.id, stackDir, "change.plan")
      : undefined;
    const before = cloud.log.calls.length;
    ok = !!planned && (await terraform(`${change.id}: terraform apply`, ["apply", "-auto-approve"])).code === 0;
    if (!ok || !planned) break;
    // The deploy steps are applied here (as no-ops): a plan that does not change them leaves them out.
    const observed = effectOfPlan(planned, cloud.log.calls.slice(before));
    const differences = compareEffect(table.get(change.id), observed);
    ts.record(`${change.id}: matches docs/deploy.md`, Date.now(), differences.length === 0, differences.join("; "));
    if (differences.length) console.log(`  observed row:\n${tableRow(change.id, observed)}`);
    ok = differences.length === 0 && (await converge(change.id, change.environment));
    if (!ok) break;
  }
  const instances = cloud.store.all("as-instance").length;
  console.log(`destroying with ${instances} server(s) in the scaling group`);
  const destroyed = await ts.destroy(variant.id, stackDir, cloud);
  return ok && destroyed && (where.noChange || instances > 0);
}

/**
 * rehearse:cloud's record-only cluster with `cluster.autoScaling` (scenario-config.ts SCALING):
 * the whole stack applied with the real provider, the deploy steps (SSH) made no-ops so that what
 * waits for them (the fleet pointer, then the group's enabler and the destroy-time drain) is
 * applied as `cdktf deploy` orders it; each server the group starts is admitted at its hook with
 * the seed's calls; an empty plan; a scale-out by the owner (desiredServers 1 → 2, checked against
 * docs/deploy.md's table "Checked by the local cloud" as the other environments' changes); and a destroy
 * with the group's servers still in it, which the drain (scaling-drain.mjs, run by Terraform on
 * this machine) must empty before the group goes, under either answer of `scalingGroupDelete`.
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
  /** The seed's pass: every instance the SCALE_OUT hook holds is completed with CONTINUE. */
  const admit = async (expected: number): Promise<boolean> => {
    const started = Date.now();
    const group = cloud.store.all("as-group")[0];
    let held: { InstanceId: string }[] = [];
    for (let i = 0; i < 60 && group; i++) {
      held = ((await as("DescribeScalingInstances", { ScalingGroupId: group.id, Status: "Pending:Wait" }))
        .ScalingInstances ?? []) as { InstanceId: string }[];
      if (held.length >= expected) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const instance of held) {
      const { LifecycleActivities: activities = [] } = await as("DescribeLifecycleActivities", {
        InstanceId: instance.InstanceId,
        LifecycleActivityStatus: "Waiting",
      });
      for (const a of activities as { LifecycleActivityId: string }[])
        await as("CompleteLifecycleActivity", {
          LifecycleActivityId: a.LifecycleActivityId,
          LifecycleActivityPolicy: "CONTINUE",
        });
    }
    const members = (cloud.store.all("clb-server-group")[0]?.fields.Servers ?? []) as { InstanceId: string }[];
    const inGroup = held.filter((h) => members.some((m) => m.InstanceId === h.InstanceId)).length;
    return ts.record(
      `${variant.id}: ${expected} server(s) held at the hook, admitted, in the server group`,
      started,
      held.length === expected && inGroup === expected,
      `held ${held.length}, in the server group ${inGroup}`,
    );
  };

  console.log(`\n== ${variant.id}`);
  ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, variant.environment);
  let ok =
    (await synth(`${variant.id}: cdktf synth`)) &&
    (await terraform(`${variant.id}: terraform init`, ["init"])).code === 0;
  ok = ok && (await terraform(`${variant.id}: terraform apply`, ["apply", "-auto-approve"])).code === 0;
  ok = ok && (await admit(1));
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
    ok = differences.length === 0 && (await admit(1));
  }
  const instances = cloud.store.all("as-instance").length;
  console.log(`destroying with ${instances} server(s) in the scaling group`);
  const destroyed = await ts.destroy(variant.id, stackDir, cloud);
  return ok && destroyed && instances > 0;
}

/**
 * rehearse:cloud's record-only environments (scenario-config.ts VARIANTS): deploy, an empty plan,
 * each owner change checked against docs/deploy.md's table, destroy, nothing left. The instances
 * are records; the deploy step (null_resource over SSH) is left out with -target.
 */
import { join } from "node:path";
import { compareEffect, effectOfPlan, tableRow, type ChangeEffect, type PlannedChange } from "./change-table.js";
import { NOT_SERVED, writeEnvironmentConfig, type Variant } from "./scenario-config.js";
import type { LocalCloud } from "../../local-cloud/server.js";
import type { TerraformSteps } from "./terraform-steps.js";

const WHY = "the SSH deploy step: the instances are records, no server boots";

export async function runVariant(
  ts: TerraformSteps,
  cloud: LocalCloud,
  variant: Variant,
  table: Map<string, ChangeEffect>,
  where: { repo: string; work: string; noChange: boolean },
): Promise<boolean> {
  const stackDir = join(where.work, variant.id);
  const synth = (step: string) => ts.synth(step, where.repo, stackDir, NOT_SERVED, WHY);
  console.log(`\n== ${variant.id}`);
  ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, variant.environment);
  const t = await synth(`${variant.id}: cdktf synth`);
  if (!t) return false;
  if (
    (await ts.run(`${variant.id}: terraform init`, "terraform", ["init", "-input=false", "-no-color"], stackDir))
      .code !== 0
  )
    return false;
  const apply = await ts.run(
    `${variant.id}: terraform apply`,
    "terraform",
    ["apply", "-auto-approve", "-input=false", "-no-color", ...t],
    stackDir,
  );
  const plan =
    apply.code === 0
      ? await ts.run(
          `${variant.id}: terraform plan (expect no changes)`,
          "terraform",
          ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...t],
          stackDir,
        )
      : undefined;
  if (plan && plan.code === 2)
    console.log(
      plan.out
        .split("\n")
        .filter((l) => /^\s+[~+-]|must be replaced|will be updated/.test(l))
        .slice(0, 30)
        .join("\n"),
    );
  let changesOk = true;
  // The deploy step as planned before each change: whether a change would replace it (see effectOfPlan).
  let baseline =
    plan?.code === 0 && !where.noChange
      ? await ts.planChanges(`${variant.id}: baseline`, stackDir, "base.plan")
      : undefined;
  for (const change of plan?.code === 0 && !where.noChange ? variant.changes : []) {
    ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, change.environment);
    const t2 = await synth(`${change.id}: cdktf synth`);
    // The whole plan (the deploy step included) says what Terraform does; the apply leaves the deploy step out.
    const planned = t2 ? await ts.planChanges(change.id, stackDir, "change.plan") : undefined;
    const before = cloud.log.calls.length;
    const applied =
      t2 &&
      planned &&
      (await ts.run(
        `${change.id}: terraform apply`,
        "terraform",
        ["apply", "-auto-approve", "-input=false", "-no-color", ...t2, ...removedTargets(planned)],
        stackDir,
      ));
    if (!planned || !applied || applied.code !== 0) {
      changesOk = false;
      break;
    }
    const observed = effectOfPlan(planned, cloud.log.calls.slice(before), baseline);
    baseline = planned;
    const differences = compareEffect(table.get(change.id), observed);
    ts.record(`${change.id}: matches docs/deploy.md`, Date.now(), differences.length === 0, differences.join("; "));
    if (differences.length) console.log(`  observed row:\n${tableRow(change.id, observed)}`);
    changesOk &&= differences.length === 0;
  }
  const destroyed = await ts.destroy(variant.id, stackDir, cloud);
  return apply.code === 0 && plan?.code === 0 && changesOk && destroyed;
}

/**
 * -target applies only resources the configuration holds: one the change removes (an admin CIDR's
 * rule) is destroyed, as `cdktf deploy` would, only when named too.
 */
export function removedTargets(planned: PlannedChange[]): string[] {
  return planned
    .filter((c) => c.change.actions.join() === "delete" && !NOT_SERVED.some((t) => c.address.startsWith(`${t}.`)))
    .map((c) => `-target=${c.address}`);
}

/**
 * rehearse:cloud's first scenario, with a booter: a single-server environment whose instance is a
 * real server. `terraform apply` boots it and the stack's deploy step SSHes in through the EIP;
 * the caller's checks run (smoke test), a plan right after must show no change, a new release must
 * replace the deploy step only and change nothing in the stand-in while traffic runs, and destroy
 * must leave nothing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InstanceBooter } from "../../local-cloud/booter.js";
import { copyRepository, writeEnvironmentConfig } from "./scenario-config.js";
import type { LocalCloud } from "../../local-cloud/server.js";
import { describeChanges, type TerraformSteps } from "./terraform-steps.js";

export interface BootHooks {
  /** Boots the instance; the deploy step runs (there is a server to SSH into). */
  booter: InstanceBooter;
  /** After the first apply: the API through the EIP (the smoke test). */
  afterApply?(eipAddress: string): Promise<boolean>;
  /** Started before the new release's apply; the function it returns stops it and says whether the API kept serving. */
  duringChange?(eipAddress: string): Promise<() => Promise<boolean>>;
  /** After destroy: the booter holds no server, container or network. */
  afterDestroy?(): Promise<boolean>;
  /** Before destroy, when a step failed: what explains it (the server's logs). */
  diagnose?(): Promise<void>;
}

const NAME = "single-boot";

export async function bootScenario(
  ts: TerraformSteps,
  cloud: LocalCloud,
  hooks: BootHooks,
  where: { repo: string; work: string; noChange: boolean },
): Promise<boolean> {
  const stackDir = join(where.work, NAME);
  const synth = (step: string, from: string) => ts.synth(step, from, stackDir, [], "");

  async function lifecycle(): Promise<boolean> {
    console.log(`\n== ${NAME}: the instance boots as a container; the deploy step runs over SSH`);
    ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, {});
    const t = await synth(`${NAME}: cdktf synth`, where.repo);
    if (!t) return false;
    if (
      (await ts.run(`${NAME}: terraform init`, "terraform", ["init", "-input=false", "-no-color"], stackDir)).code !== 0
    )
      return false;
    const apply = await ts.run(
      `${NAME}: terraform apply (boots the server, deploys over SSH)`,
      "terraform",
      ["apply", "-auto-approve", "-input=false", "-no-color", ...t],
      stackDir,
    );
    if (apply.code !== 0) return false;
    // How long Terraform waited for the instance and for the deploy step (SSH in, upload, converge, deploy).
    for (const l of apply.out
      .split("\n")
      .filter((x) => /(ecs_instance|null_resource)\.\S+: Creation complete after/.test(x)))
      console.log(`  ${l.trim()}`);
    const eip = String(cloud.store.all("eip")[0]?.fields.EipAddress ?? "");
    let ok = true;
    if (hooks.afterApply) ok = (await hooks.afterApply(eip)) && ok;
    const plan = await ts.run(
      `${NAME}: terraform plan (expect no changes)`,
      "terraform",
      ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...t],
      stackDir,
    );
    if (plan.code === 2)
      console.log(
        plan.out
          .split("\n")
          .filter((l) => /^\s+[~+-]|must be replaced|will be updated/.test(l))
          .slice(0, 30)
          .join("\n"),
      );
    if (plan.code !== 0 || where.noChange) return ok && plan.code === 0;
    return (await newRelease(eip)) && ok;
  }

  /** A new release: the deploy step only, the instance and everything else untouched. */
  async function newRelease(eip: string): Promise<boolean> {
    const started = Date.now();
    const from = copyRepository(where.repo, join(where.work, "changed-repo"));
    const pkg = JSON.parse(readFileSync(join(from, "package.json"), "utf8"));
    pkg.version = `${pkg.version}-local.1`;
    writeFileSync(join(from, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
    ts.record(`${NAME}: copy of the repository with a new app version (a new release)`, started, true, pkg.version);
    const t2 = await synth(`${NAME}: cdktf synth (new release)`, from);
    const planned = t2 && (await ts.planChanges(`${NAME}: new release`, stackDir, "change.plan", t2));
    if (!planned) return false;
    const actions = describeChanges(planned);
    console.log(`the new release's plan:\n  ${actions.join("\n  ") || "(nothing)"}`);
    const onlyDeploy =
      actions.length === 1 && /^null_resource\.[^:]+: (delete\+create|create\+delete)$/.test(actions[0]!);
    ts.record(`${NAME}: the plan replaces the deploy step only`, Date.now(), onlyDeploy, actions.join("; "));
    const callsBefore = cloud.log.calls.length;
    const stopTraffic = hooks.duringChange && (await hooks.duringChange(eip));
    const applied = await ts.run(
      `${NAME}: terraform apply (new release)`,
      "terraform",
      ["apply", "-input=false", "-no-color", "change.plan"],
      stackDir,
    );
    const served = stopTraffic ? await stopTraffic() : true;
    // The stand-in's log: nothing but reads of the instance (and everything else) during the change.
    const writes = cloud.log.calls.slice(callsBefore).filter((c) => !/^(Describe|Get|List)/.test(c.action));
    ts.record(
      `${NAME}: the instance and every resource left alone (stand-in's log)`,
      Date.now(),
      writes.length === 0,
      writes.map((c) => c.action).join(", ") || `${cloud.log.calls.length - callsBefore} calls, none of them a change`,
    );
    return applied.code === 0 && served && onlyDeploy && writes.length === 0;
  }

  const ok = await lifecycle().catch((e: unknown) => {
    console.error(e);
    return false;
  });
  if (!ok) await hooks.diagnose?.().catch((e: unknown) => console.error(e));
  // Destroy even after a failed step, so nothing is left in the stand-in or on the machine.
  const destroyed = await ts.destroy(NAME, stackDir, cloud);
  const gone = hooks.afterDestroy ? await hooks.afterDestroy() : true;
  return ok && destroyed && gone;
}

/**
 * rehearse:cloud's first scenario, with a booter: an environment whose instances are real servers,
 * the single server (`single`) or the cluster (`cluster`: its network, NAT, CLB and RDS built by a
 * network booter too). `terraform apply` boots them and the stack's deploy step SSHes in (through
 * the EIP, or through the bastion's EIP to the servers' private addresses); the caller's checks
 * run (smoke test at the public address: the EIP, or the CLB's), a plan right after must show no
 * change, a new release must replace the deploy steps only and change nothing in the stand-in
 * while traffic runs, and destroy must leave nothing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InstanceBooter } from "../../local-cloud/booter.js";
import { RDS, copyRepository, writeEnvironmentConfig } from "./scenario-config.js";
import type { LocalCloud } from "../../local-cloud/server.js";
import { describeChanges, type TerraformSteps } from "./terraform-steps.js";

export type Topology = "single" | "cluster";

/** The environment each topology boots (cluster: two servers, bastion, NAT, CLB, RDS). */
export const BOOT_ENVIRONMENTS: Record<Topology, Record<string, unknown>> = {
  single: {},
  cluster: { topology: "cluster", database: RDS },
};

export interface BootHooks {
  topology: Topology;
  /** Boots the instances; the deploy step runs (there is a server to SSH into). */
  booter: InstanceBooter;
  /** After the first apply: the API at its public address (the smoke test). */
  afterApply?(publicAddress: string): Promise<boolean>;
  /** Started before the new release's apply; the function it returns stops it and says whether the API kept serving. */
  duringChange?(publicAddress: string): Promise<() => Promise<boolean>>;
  /** After destroy: the booter holds no server, container or network. */
  afterDestroy?(): Promise<boolean>;
  /** Before destroy, when a step failed: what explains it (the server's logs). */
  diagnose?(): Promise<void>;
}

/** Where clients reach the API: the single server's EIP, or the cluster's CLB address. */
export function publicAddress(cloud: LocalCloud, topology: Topology): string {
  if (topology === "cluster") return String(cloud.store.all("clb")[0]?.fields.EipAddress ?? "");
  return String(cloud.store.all("eip")[0]?.fields.EipAddress ?? "");
}

export async function bootScenario(
  ts: TerraformSteps,
  cloud: LocalCloud,
  hooks: BootHooks,
  where: { repo: string; work: string; noChange: boolean },
): Promise<boolean> {
  const NAME = `${hooks.topology}-boot`;
  const stackDir = join(where.work, NAME);
  const synth = (step: string, from: string) => ts.synth(step, from, stackDir, [], "");

  async function lifecycle(): Promise<boolean> {
    console.log(`\n== ${NAME}: the instances boot as containers; the deploy step runs over SSH`);
    ts.env.TODO_STACK_CONFIG = writeEnvironmentConfig(where.work, BOOT_ENVIRONMENTS[hooks.topology]);
    const t = await synth(`${NAME}: cdktf synth`, where.repo);
    if (!t) return false;
    if (
      (await ts.run(`${NAME}: terraform init`, "terraform", ["init", "-input=false", "-no-color"], stackDir)).code !== 0
    )
      return false;
    const apply = await ts.run(
      `${NAME}: terraform apply (boots the servers, deploys over SSH)`,
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
    const eip = publicAddress(cloud, hooks.topology);
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
    const from = copyRepository(where.repo, join(where.work, `changed-repo-${NAME}`));
    const pkg = JSON.parse(readFileSync(join(from, "package.json"), "utf8"));
    pkg.version = `${pkg.version}-local.1`;
    writeFileSync(join(from, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
    ts.record(`${NAME}: copy of the repository with a new app version (a new release)`, started, true, pkg.version);
    const t2 = await synth(`${NAME}: cdktf synth (new release)`, from);
    const planned = t2 && (await ts.planChanges(`${NAME}: new release`, stackDir, "change.plan", t2));
    if (!planned) return false;
    const actions = describeChanges(planned);
    console.log(`the new release's plan:\n  ${actions.join("\n  ") || "(nothing)"}`);
    // One deploy step per server (the cluster's roll out one after the other), nothing else.
    const onlyDeploy =
      actions.length > 0 && actions.every((a) => /^null_resource\.[^:]+: (delete\+create|create\+delete)$/.test(a));
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

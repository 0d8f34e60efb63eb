/**
 * The infra lifecycle against the stand-in with the real terraform and the real provider binary:
 * synth a fresh single-server environment, `terraform apply`, `terraform plan` (must show no
 * changes), a change and its apply, `terraform destroy`, and the stand-in must hold nothing. Needs
 * VOLCENGINE_PROVIDER_MIRROR (a Terraform filesystem mirror with volcengine/volcengine); without
 * it, it says so and exits 3.
 *
 * `npm run rehearse:cloud` (scripts/rehearse/cloud.ts) runs it with a booter: the instance is a
 * real server, the stack's deploy step SSHes into it, the change is a new release. Run directly
 * (`npx tsx local-cloud/rehearse-cloud.ts`, or `--no-boot`) the instance is a record only, the
 * deploy step (null_resource over SSH) is left out with -target, and the change adds a domain.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { InstanceBooter } from "./booter";
import { startLocalCloud } from "./server";
import { NOT_SERVED, copyRepository, providerInMirror, stripDescriptions, targets, writeCliConfig, writeStackConfig } from "./scenario-config";

export interface ScenarioOptions {
  argv: string[];
  /** Boots the instance; with it the deploy step runs and the change is a new release. */
  booter?: InstanceBooter;
  /** After the first apply and the empty plan: the API through the EIP (the smoke test). */
  afterApply?(eipAddress: string): Promise<boolean>;
  /** Started before the change's apply; the function it returns stops it and says whether the API kept serving. */
  duringChange?(eipAddress: string): Promise<() => Promise<boolean>>;
  /** After destroy: the booter holds no server, container or network. */
  afterDestroy?(): Promise<boolean>;
  /** Before destroy, when a step failed: what explains it (the server's logs). */
  diagnose?(): Promise<void>;
}

interface Step {
  step: string;
  seconds: number;
  ok: boolean;
  note?: string;
}

export async function rehearseCloud(opts: ScenarioOptions): Promise<number> {
  const { argv, booter } = opts;
  const flag = (name: string) => argv.includes(`--${name}`);
  const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);
  const mirror = process.env.VOLCENGINE_PROVIDER_MIRROR;
  if (!providerInMirror(mirror)) {
    console.error(
      `rehearse:cloud NOT RUN: VOLCENGINE_PROVIDER_MIRROR ${mirror ? `(${mirror}) holds no registry.terraform.io/volcengine/volcengine/*/linux_amd64 binary` : "is not set"}.\n` +
        "It needs the real provider in a Terraform filesystem mirror (docs/local-cloud.md). Nothing was checked.",
    );
    return 3;
  }

  const repo = resolve(option("repo") ?? process.cwd());
  const work = mkdtempSync(join(tmpdir(), "local-cloud-"));
  const steps: Step[] = [];
  const began = Date.now();
  const cloud = await startLocalCloud({ logFile: join(work, "calls.jsonl"), transitionMs: 1000, booter });
  const env = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_CLI_CONFIG_FILE: writeCliConfig(work, mirror!),
    TODO_STACK_CONFIG: writeStackConfig(work),
    VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
    VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
    VOLCENGINE_PROXY_URL: cloud.url,
    VOLCENGINE_DISABLE_SSL: "true",
  };
  const record = (step: string, started: number, ok: boolean, note?: string) => {
    steps.push({ step, seconds: (Date.now() - started) / 1000, ok, note });
    const at = ((Date.now() - began) / 1000).toFixed(0).padStart(4);
    console.log(`[${at} s] ${ok ? "ok  " : "FAIL"} ${step} (${((Date.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`);
    return ok;
  };

  /** Runs a command asynchronously: the stand-in answers from this same process meanwhile. */
  async function run(step: string, cmd: string, args: string[], cwd: string, okCodes = [0]): Promise<{ code: number; out: string }> {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    record(step, started, okCodes.includes(code));
    if (!okCodes.includes(code)) console.log(out.replace(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => /error|│/i.test(l)).slice(0, 40).join("\n"));
    return { code, out };
  }

  const stackDir = join(work, "stack");
  // With a booter the deploy step runs too: there is a server to SSH into.
  const skip = booter ? NOT_SERVED.filter((t) => t !== "null_resource") : NOT_SERVED;

  /** `cdktf synth` of the current config in `from` into stackDir (state kept in stackDir); the -target list. */
  async function synth(step: string, from = repo): Promise<string[] | undefined> {
    if ((await run(step, "npx", ["cdktf", "synth"], from)).code !== 0) return undefined;
    mkdirSync(stackDir, { recursive: true });
    const stack = JSON.parse(readFileSync(join(from, "cdktf.out", "stacks", "todo-api-dev", "cdk.tf.json"), "utf8"));
    stack.terraform.backend = { local: { path: join(stackDir, "terraform.tfstate") } };
    if (flag("work-around-d1")) console.log(`note: --work-around-d1 stripped refused characters from ${stripDescriptions(stack.resource)} descriptions`);
    writeFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify(stack, null, 1));
    const { included, excluded } = targets(stack, skip);
    console.log(`left out (not served by the stand-in${booter ? "" : ", or the SSH deploy step"}): ${excluded.join(", ")}`);
    return included.map((a) => `-target=${a}`);
  }

  /** What a saved plan does to each resource (update, replace...), as Terraform reports it. */
  async function planActions(plan: string): Promise<string[]> {
    const shown = await run("terraform show (the change's plan)", "terraform", ["show", "-json", plan], stackDir);
    const changes = (JSON.parse(shown.out.slice(shown.out.indexOf("{"))).resource_changes ?? []) as { address: string; change: { actions: string[] } }[];
    return changes.filter((c) => !["no-op", "read"].includes(c.change.actions.join())).map((c) => `${c.address}: ${c.change.actions.join("+")}`);
  }

  async function lifecycle(): Promise<boolean> {
    console.log(`local cloud ${cloud.url}; work dir ${work}; repository ${repo}; ${booter ? "instances boot as containers" : "instances are records only"}`);
    const t = await synth("cdktf synth");
    if (!t) return false;
    if ((await run("terraform init", "terraform", ["init", "-input=false", "-no-color"], stackDir)).code !== 0) return false;
    const apply = await run(`terraform apply${booter ? " (boots the server, deploys over SSH)" : ""}`, "terraform", ["apply", "-auto-approve", "-input=false", "-no-color", ...t], stackDir);
    if (apply.code !== 0) return false;
    // How long Terraform waited for the instance and for the deploy step (SSH in, upload, converge, deploy).
    for (const l of apply.out.split("\n").filter((x) => /(ecs_instance|null_resource)\.\S+: Creation complete after/.test(x))) console.log(`  ${l.trim()}`);
    const eip = String(cloud.store.all("eip")[0]?.fields.EipAddress ?? "");
    let ok = true;
    if (opts.afterApply) ok = (await opts.afterApply(eip)) && ok;
    const plan = await run("terraform plan (expect no changes)", "terraform", ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...t], stackDir);
    if (plan.code === 2) console.log(plan.out.split("\n").filter((l) => /^\s+[~+-]|must be replaced|will be updated/.test(l)).slice(0, 30).join("\n"));
    if (plan.code !== 0 || flag("no-change")) return ok && plan.code === 0;
    return (await change(eip)) && ok;
  }

  /** With a server: a new release (deploy step only, instance untouched). Without: the owner adds a domain. */
  async function change(eip: string): Promise<boolean> {
    let from = repo;
    if (booter) {
      const started = Date.now();
      from = copyRepository(repo, join(work, "changed-repo"));
      const pkg = JSON.parse(readFileSync(join(from, "package.json"), "utf8"));
      pkg.version = `${pkg.version}-local.1`;
      writeFileSync(join(from, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
      record("copy of the repository with a new app version (a new release)", started, true, pkg.version);
    } else env.TODO_STACK_CONFIG = writeStackConfig(work, { domain: "api.todo.example" });
    const what = booter ? "new release" : "domain added";
    const t2 = await synth(`cdktf synth (${what})`, from);
    const p2 = t2 && (await run(`terraform plan (${what})`, "terraform", ["plan", "-input=false", "-no-color", "-out=change.plan", ...t2], stackDir));
    if (!p2 || p2.code !== 0) return false;
    const actions = await planActions("change.plan");
    console.log(`the change's plan:\n  ${actions.join("\n  ") || "(nothing)"}`);
    const onlyDeploy = actions.length === 1 && /^null_resource\.[^:]+: (delete\+create|create\+delete)$/.test(actions[0]!);
    if (booter) record("the plan replaces the deploy step only", Date.now(), onlyDeploy, actions.join("; "));
    const callsBefore = cloud.log.calls.length;
    const stopTraffic = opts.duringChange && (await opts.duringChange(eip));
    const applied = await run(`terraform apply (${what})`, "terraform", ["apply", "-input=false", "-no-color", "change.plan"], stackDir);
    const served = stopTraffic ? await stopTraffic() : true;
    if (!booter) return applied.code === 0;
    // The stand-in's log: nothing but reads of the instance (and everything else) during the change.
    const writes = cloud.log.calls.slice(callsBefore).filter((c) => !/^(Describe|Get|List)/.test(c.action));
    record("the instance and every resource left alone (stand-in's log)", Date.now(), writes.length === 0, writes.map((c) => c.action).join(", ") || `${cloud.log.calls.length - callsBefore} calls, none of them a change`);
    return applied.code === 0 && served && onlyDeploy && writes.length === 0;
  }

  async function destroyAll(): Promise<boolean> {
    const destroy = await run("terraform destroy", "terraform", ["destroy", "-auto-approve", "-input=false", "-no-color"], stackDir);
    await new Promise((r) => setTimeout(r, cloud.store.transitionMs + 200));
    const left = cloud.store.snapshot();
    record("stand-in holds zero resources", Date.now(), left.length === 0, left.map((r) => `${r.kind}/${r.id}`).join(", "));
    const gone = opts.afterDestroy ? await opts.afterDestroy() : true;
    return destroy.code === 0 && left.length === 0 && gone;
  }

  let ok = false;
  try {
    ok = await lifecycle().catch((e: unknown) => (console.error(e), false));
    if (!ok) await opts.diagnose?.().catch((e: unknown) => console.error(e));
    // Destroy even after a failed step, so nothing is left in the stand-in or on the machine.
    ok = (await destroyAll()) && ok;
    const failed = cloud.log.calls.filter((c) => c.status >= 400);
    console.log(`calls: ${cloud.log.calls.length}, refused: ${failed.length} (${[...new Set(failed.map((c) => `${c.action} ${c.error}`))].join("; ")})`);
    const recordTo = option("record");
    if (recordTo) copyFileSync(join(work, "calls.jsonl"), recordTo);
  } finally {
    await cloud.close();
  }
  console.log(JSON.stringify({ result: ok ? "pass" : "fail", seconds: (Date.now() - began) / 1000, steps }));
  if (ok) rmSync(work, { recursive: true, force: true });
  else console.log(`work dir kept for a look: ${work}`);
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exit(await rehearseCloud({ argv: process.argv.slice(2) }));
}

/**
 * `npm run rehearse:cloud [-- --repo <checkout>] [--variant <id>] [--work-around-d1] [--record <file.jsonl>|<dir>]`
 *
 * The infra lifecycle against the stand-in with the real terraform and the real provider binary,
 * for each variant of scenario-config.ts (single-local, single-rds, cluster): synth a fresh
 * environment, `terraform apply`, `terraform plan` (must show no changes), the owners' changes
 * (each checked against docs/deploy.md's table "Checked by the local cloud"), `terraform destroy`,
 * and the stand-in must hold nothing. Needs VOLCENGINE_PROVIDER_MIRROR
 * (a Terraform filesystem mirror with volcengine/volcengine); without it, it says so and exits 3.
 * The deploy step (null_resource over SSH) is left out with -target: there is no server to reach.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalCloud } from "./server";
import { NOT_SERVED, VARIANTS, providerInMirror, stripDescriptions, targets, writeCliConfig, writeEnvironmentConfig, type Variant } from "./scenario-config";
import { compareEffect, effectOfPlan, readChangeTable, tableRow, type ChangeEffect, type PlannedChange } from "./change-table";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : undefined);

const mirror = process.env.VOLCENGINE_PROVIDER_MIRROR;
if (!providerInMirror(mirror)) {
  console.error(
    `rehearse:cloud NOT RUN: VOLCENGINE_PROVIDER_MIRROR ${mirror ? `(${mirror}) holds no registry.terraform.io/volcengine/volcengine/*/linux_amd64 binary` : "is not set"}.\n` +
      "It needs the real provider in a Terraform filesystem mirror (docs/local-cloud.md). Nothing was checked.",
  );
  process.exit(3);
}

const repo = resolve(option("repo") ?? process.cwd());
const work = mkdtempSync(join(tmpdir(), "local-cloud-"));
const steps: { step: string; seconds: number; ok: boolean; note?: string }[] = [];
const cloud = await startLocalCloud({ logFile: join(work, "calls.jsonl"), transitionMs: 1000 });
const env = {
  ...process.env,
  CHECKPOINT_DISABLE: "1",
  TF_IN_AUTOMATION: "1",
  TF_CLI_CONFIG_FILE: writeCliConfig(work, mirror!),
  TODO_STACK_CONFIG: writeEnvironmentConfig(work, {}),
  VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
  VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
  VOLCENGINE_PROXY_URL: cloud.url,
  VOLCENGINE_DISABLE_SSL: "true",
  // Throw-away secrets of this run (rds mode and the cluster's deploy step refuse to plan without them).
  TF_VAR_db_password: `Lc1-${randomBytes(9).toString("base64url")}`,
  TF_VAR_jwt_secret: randomBytes(36).toString("base64"),
};

/** Runs a command asynchronously: the stand-in answers from this same process meanwhile. */
async function run(step: string, cmd: string, args: string[], cwd: string, okCodes = [0]): Promise<{ code: number; out: string }> {
  const started = Date.now();
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  steps.push({ step, seconds: (Date.now() - started) / 1000, ok: okCodes.includes(code) });
  console.log(`${okCodes.includes(code) ? "ok  " : "FAIL"} ${step} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (!okCodes.includes(code)) console.log(out.replace(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => /error|│/i.test(l)).slice(0, 40).join("\n"));
  return { code, out };
}

let stackDir = join(work, "stack");

/** `cdktf synth` of the current config into stackDir (state kept in stackDir); the -target list. */
async function synth(step: string): Promise<string[] | undefined> {
  if ((await run(step, "npx", ["cdktf", "synth"], repo)).code !== 0) return undefined;
  mkdirSync(stackDir, { recursive: true });
  const stack = JSON.parse(readFileSync(join(repo, "cdktf.out", "stacks", "todo-api-dev", "cdk.tf.json"), "utf8"));
  stack.terraform.backend = { local: { path: join(stackDir, "terraform.tfstate") } };
  if (flag("work-around-d1")) console.log(`note: --work-around-d1 stripped refused characters from ${stripDescriptions(stack.resource)} descriptions`);
  writeFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify(stack, null, 1));
  const { included, excluded } = targets(stack, NOT_SERVED);
  console.log(`left out (the SSH deploy step: no server boots yet): ${excluded.join(", ")}`);
  return included.map((a) => `-target=${a}`);
}

/** What a saved plan does to each resource (every resource, the deploy step included). */
async function planChanges(step: string, plan: string): Promise<PlannedChange[] | undefined> {
  if ((await run(`${step}: terraform plan`, "terraform", ["plan", "-input=false", "-no-color", `-out=${plan}`], stackDir)).code !== 0) return undefined;
  const shown = await run(`${step}: terraform show`, "terraform", ["show", "-json", plan], stackDir);
  return (JSON.parse(shown.out.slice(shown.out.indexOf("{"))).resource_changes ?? []) as PlannedChange[];
}

/** One environment: deploy, empty plan, each owner change checked against docs/deploy.md, destroy, nothing left. */
async function runVariant(variant: Variant, table: Map<string, ChangeEffect>): Promise<boolean> {
  stackDir = join(work, variant.id);
  const first = cloud.log.calls.length;
  console.log(`\n== ${variant.id}`);
  env.TODO_STACK_CONFIG = writeEnvironmentConfig(work, variant.environment);
  const t = await synth(`${variant.id}: cdktf synth`);
  if (!t) return false;
  if ((await run(`${variant.id}: terraform init`, "terraform", ["init", "-input=false", "-no-color"], stackDir)).code !== 0) return false;
  const apply = await run(`${variant.id}: terraform apply`, "terraform", ["apply", "-auto-approve", "-input=false", "-no-color", ...t], stackDir);
  const plan = apply.code === 0 ? await run(`${variant.id}: terraform plan (expect no changes)`, "terraform", ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...t], stackDir) : undefined;
  if (plan && plan.code === 2) console.log(plan.out.split("\n").filter((l) => /^\s+[~+-]|must be replaced|will be updated/.test(l)).slice(0, 30).join("\n"));
  let changesOk = true;
  // The deploy step as planned before each change: whether a change would replace it (see effectOfPlan).
  let baseline = plan?.code === 0 && !flag("no-change") ? await planChanges(`${variant.id}: baseline`, "base.plan") : undefined;
  for (const change of plan?.code === 0 && !flag("no-change") ? variant.changes : []) {
    env.TODO_STACK_CONFIG = writeEnvironmentConfig(work, change.environment);
    const t2 = await synth(`${change.id}: cdktf synth`);
    // The whole plan (the deploy step included) says what Terraform does; the apply leaves the deploy step out.
    const planned = t2 ? await planChanges(change.id, "change.plan") : undefined;
    const before = cloud.log.calls.length;
    const applied = t2 && planned && (await run(`${change.id}: terraform apply`, "terraform", ["apply", "-auto-approve", "-input=false", "-no-color", ...t2], stackDir));
    if (!planned || !applied || applied.code !== 0) {
      changesOk = false;
      break;
    }
    const observed = effectOfPlan(planned, cloud.log.calls.slice(before), baseline);
    baseline = planned;
    const differences = compareEffect(table.get(change.id), observed);
    steps.push({ step: `${change.id}: matches docs/deploy.md`, seconds: 0, ok: differences.length === 0, note: differences.join("; ") });
    console.log(`${differences.length === 0 ? "ok  " : "FAIL"} ${change.id}: matches docs/deploy.md${differences.length ? `\n  ${differences.join("\n  ")}\n  observed row:\n${tableRow(change.id, observed)}` : ""}`);
    changesOk &&= differences.length === 0;
  }
  const destroy = await run(`${variant.id}: terraform destroy`, "terraform", ["destroy", "-auto-approve", "-input=false", "-no-color"], stackDir);
  await new Promise((r) => setTimeout(r, cloud.store.transitionMs + 200));
  const left = cloud.store.snapshot();
  steps.push({ step: `${variant.id}: stand-in holds zero resources`, seconds: 0, ok: left.length === 0, note: left.map((r) => `${r.kind}/${r.id}`).join(", ") });
  console.log(`${left.length === 0 ? "ok  " : "FAIL"} ${variant.id}: stand-in holds zero resources${left.length ? `: ${left.map((r) => `${r.kind}/${r.id}`).join(", ")}` : ""}`);
  const calls = cloud.log.calls.slice(first);
  const failed = calls.filter((c) => c.status >= 400);
  console.log(`${variant.id}: calls: ${calls.length}, refused: ${failed.length} (${[...new Set(failed.map((c) => `${c.action} ${c.error}`))].join("; ")})`);
  const record = option("record");
  if (record && !record.endsWith(".jsonl")) writeFileSync(join(record, `${variant.id}-v0.0.196.jsonl`), calls.map((c) => JSON.stringify(c)).join("\n") + "\n");
  return apply.code === 0 && plan?.code === 0 && changesOk && destroy.code === 0 && left.length === 0;
}

async function main(): Promise<number> {
  console.log(`local cloud ${cloud.url}; work dir ${work}; repository ${repo}`);
  const only = option("variant");
  const variants = VARIANTS.filter((v) => !only || v.id === only);
  if (variants.length === 0) throw new Error(`--variant ${only}: no such variant (${VARIANTS.map((v) => v.id).join(", ")})`);
  const table = readChangeTable(join(repo, "docs", "deploy.md"));
  let ok = true;
  for (const variant of variants) ok = (await runVariant(variant, table)) && ok;
  const record = option("record");
  if (record?.endsWith(".jsonl")) copyFileSync(join(work, "calls.jsonl"), record);
  return ok ? 0 : 1;
}

const code = await main().catch((e: unknown) => {
  console.error(e);
  return 1;
});
await cloud.close();
console.log(JSON.stringify({ result: code === 0 ? "pass" : "fail", steps }));
if (code === 0) rmSync(work, { recursive: true, force: true });
process.exit(code);

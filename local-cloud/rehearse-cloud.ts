/**
 * `npm run rehearse:cloud [-- --repo <checkout>] [--work-around-d1] [--record <file.jsonl>]`
 *
 * The infra lifecycle against the stand-in with the real terraform and the real provider binary:
 * synth a fresh single-server environment, `terraform apply`, `terraform plan` (must show no
 * changes), `terraform destroy`, and the stand-in must hold nothing. Needs VOLCENGINE_PROVIDER_MIRROR
 * (a Terraform filesystem mirror with volcengine/volcengine); without it, it says so and exits 3.
 * The deploy step (null_resource over SSH) is left out with -target: there is no server to reach.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalCloud } from "./server";
import { NOT_SERVED, providerInMirror, stripDescriptions, targets, writeCliConfig, writeStackConfig } from "./scenario-config";

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
  TODO_STACK_CONFIG: writeStackConfig(work),
  VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
  VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
  VOLCENGINE_PROXY_URL: cloud.url,
  VOLCENGINE_DISABLE_SSL: "true",
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

const stackDir = join(work, "stack");

/** `cdktf synth` of the current config into stackDir (state kept in stackDir); the -target list. */
async function synth(step: string): Promise<string[] | undefined> {
  if ((await run(step, "npx", ["cdktf", "synth"], repo)).code !== 0) return undefined;
  mkdirSync(stackDir, { recursive: true });
  const stack = JSON.parse(readFileSync(join(repo, "cdktf.out", "stacks", "todo-api-dev", "cdk.tf.json"), "utf8"));
  stack.terraform.backend = { local: { path: join(stackDir, "terraform.tfstate") } };
  if (flag("work-around-d1")) console.log(`note: --work-around-d1 stripped refused characters from ${stripDescriptions(stack.resource)} descriptions`);
  writeFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify(stack, null, 1));
  const { included, excluded } = targets(stack, NOT_SERVED);
  console.log(`left out (not served by the stand-in, or the SSH deploy step): ${excluded.join(", ")}`);
  return included.map((a) => `-target=${a}`);
}

/** What a saved plan does to each resource (update, replace...), as Terraform reports it. */
async function planActions(plan: string): Promise<string[]> {
  const shown = await run("terraform show (the change's plan)", "terraform", ["show", "-json", plan], stackDir);
  const changes = (JSON.parse(shown.out.slice(shown.out.indexOf("{"))).resource_changes ?? []) as { address: string; change: { actions: string[] } }[];
  return changes.filter((c) => !["no-op", "read"].includes(c.change.actions.join())).map((c) => `${c.address}: ${c.change.actions.join("+")}`);
}

async function main(): Promise<number> {
  console.log(`local cloud ${cloud.url}; work dir ${work}; repository ${repo}`);
  const t = await synth("cdktf synth");
  if (!t) return 1;

  if ((await run("terraform init", "terraform", ["init", "-input=false", "-no-color"], stackDir)).code !== 0) return 1;
  const apply = await run("terraform apply", "terraform", ["apply", "-auto-approve", "-input=false", "-no-color", ...t], stackDir);
  const plan = apply.code === 0 ? await run("terraform plan (expect no changes)", "terraform", ["plan", "-detailed-exitcode", "-input=false", "-no-color", ...t], stackDir) : undefined;
  if (plan && plan.code === 2) console.log(plan.out.split("\n").filter((l) => /^\s+[~+-]|must be replaced|will be updated/.test(l)).slice(0, 30).join("\n"));
  let changed: { code: number } | undefined;
  if (plan?.code === 0 && !flag("no-change")) {
    // Step 3: the owner adds a domain and deploys again.
    env.TODO_STACK_CONFIG = writeStackConfig(work, { domain: "api.todo.example" });
    const t2 = await synth("cdktf synth (domain added)");
    const p2 = t2 && (await run("terraform plan (domain added)", "terraform", ["plan", "-input=false", "-no-color", "-out=change.plan", ...t2], stackDir));
    if (p2 && p2.code === 0) {
      console.log(`the change's plan:\n  ${(await planActions("change.plan")).join("\n  ") || "(nothing)"}`);
      changed = await run("terraform apply (domain added)", "terraform", ["apply", "-input=false", "-no-color", "change.plan"], stackDir);
    } else changed = { code: 1 };
  }
  const destroy = await run("terraform destroy", "terraform", ["destroy", "-auto-approve", "-input=false", "-no-color"], stackDir);
  await new Promise((r) => setTimeout(r, cloud.store.transitionMs + 200));
  const left = cloud.store.snapshot();
  steps.push({ step: "stand-in holds zero resources", seconds: 0, ok: left.length === 0, note: left.map((r) => `${r.kind}/${r.id}`).join(", ") });
  console.log(`${left.length === 0 ? "ok  " : "FAIL"} stand-in holds zero resources${left.length ? `: ${left.map((r) => `${r.kind}/${r.id}`).join(", ")}` : ""}`);
  const failed = cloud.log.calls.filter((c) => c.status >= 400);
  console.log(`calls: ${cloud.log.calls.length}, refused: ${failed.length} (${[...new Set(failed.map((c) => `${c.action} ${c.error}`))].join("; ")})`);
  const record = option("record");
  if (record) copyFileSync(join(work, "calls.jsonl"), record);
  return apply.code === 0 && plan?.code === 0 && (changed?.code ?? 0) === 0 && destroy.code === 0 && left.length === 0 ? 0 : 1;
}

const code = await main().catch((e: unknown) => {
  console.error(e);
  return 1;
});
await cloud.close();
console.log(JSON.stringify({ result: code === 0 ? "pass" : "fail", steps }));
if (code === 0) rmSync(work, { recursive: true, force: true });
process.exit(code);

/**
 * `npm run rehearse:cloud` (harness/cloud/main.ts) and `npx tsx harness/cloud/rehearse-cloud.ts`:
 * the infra lifecycle against the stand-in with the real terraform and the real provider binary.
 * Needs VOLCENGINE_PROVIDER_MIRROR (a Terraform filesystem mirror with volcengine/volcengine);
 * without it, it says so and exits 3.
 *
 * 1. With booters (harness/cloud/main.ts as root): the single server, then the cluster (its
 *    VPC, NAT, CLB and RDS built by a network booter too), each booted and deployed over SSH, a
 *    smoke test at its public address, an empty plan, a new release under traffic, destroy
 *    (boot-scenario.ts); `--topology single|cluster` boots one.
 * 2. Then, instances as records, each environment of scenario-config.ts (single-local, single-rds,
 *    cluster): apply, an empty plan, the owners' changes checked against docs/deploy.md's table
 *    "Checked by the local cloud", destroy (variant-scenario.ts); and cluster-scaling, the cluster
 *    with `autoScaling`: its group's servers admitted at the hook, a scale-out, destroy with them
 *    in the group (scaling-scenario.ts).
 * Without a booter (`--no-boot`, or run directly) only 2; `--variant <id>` runs that one environment
 * of 2 only. Each part has its own stand-in; the stand-in must hold nothing after each destroy.
 * The emulator gives its default answers where the real API's behaviour is unknown;
 * `--answers key=value,…` gives others, `--answer-sets` runs 2 under each set of answer-sets.ts.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { InstanceBooter } from "../../local-cloud/booter.js";
import type { NetworkBooter } from "../../local-cloud/network-booter.js";
import type { Answers } from "../../local-cloud/answers.js";
import { answerSetsFrom } from "./answer-sets.js";
import { bootScenario, type BootHooks } from "./boot-scenario.js";
import type { LoggedCall } from "../../local-cloud/call-log.js";
import { readChangeTable } from "./change-table.js";
import { VARIANTS, providerInMirror, writeCliConfig } from "./scenario-config.js";
import { startLocalCloud } from "../../local-cloud/server.js";
import { TerraformSteps } from "./terraform-steps.js";
import { runVariant } from "./variant-scenario.js";
import { runScalingVariant } from "./scaling-scenario.js";

export interface ScenarioOptions {
  argv: string[];
  /** The booted environments of the first part, in order; without any only the record-only environments run. */
  boots?: (BootHooks & { network?: NetworkBooter })[];
}

/** Recordings are named for the provider they were made with (test/local-cloud/fixtures). */
const PROVIDER = "v0.0.196";

export async function rehearseCloud(opts: ScenarioOptions): Promise<number> {
  const { argv } = opts;
  const boots = opts.boots ?? [];
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
  const only = option("variant");
  const variants = VARIANTS.filter((v) => !only || v.id === only);
  if (variants.length === 0) {
    console.error(`--variant ${only}: no such variant (${VARIANTS.map((v) => v.id).join(", ")})`);
    return 2;
  }

  let answerSets: ReturnType<typeof answerSetsFrom>;
  try {
    answerSets = answerSetsFrom(option("answers"), flag("answer-sets"));
  } catch (e) {
    console.error(`--answers: ${(e as Error).message}`);
    return 2;
  }

  const where = {
    repo: resolve(option("repo") ?? process.cwd()),
    work: mkdtempSync(join(tmpdir(), "local-cloud-")),
    noChange: flag("no-change"),
  };
  const began = Date.now();
  // Both stand-ins append to one log: `--record <file.jsonl>` keeps the whole run.
  const logFile = join(where.work, "calls.jsonl");
  const ts = new TerraformSteps(
    {
      ...process.env,
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
      TF_CLI_CONFIG_FILE: writeCliConfig(where.work, mirror!),
      VOLCENGINE_ACCESS_KEY: "AKLTlocalcloud",
      VOLCENGINE_SECRET_KEY: "local-cloud-any-secret",
      VOLCENGINE_DISABLE_SSL: "true",
    },
    flag("strip-descriptions"),
  );
  const record = option("record");
  /** One stand-in for one part of the run; its calls summed up and, with `--record <dir>`, kept. */
  async function withCloud(
    name: string,
    withBooter: InstanceBooter | undefined,
    answers: Answers,
    part: (cloud: Awaited<ReturnType<typeof startLocalCloud>>) => Promise<boolean>,
    network?: NetworkBooter,
  ): Promise<boolean> {
    const cloud = await startLocalCloud({ logFile, transitionMs: 1000, booter: withBooter, network, answers });
    ts.env.VOLCENGINE_PROXY_URL = cloud.url;
    console.log(
      `\n${name}: local cloud ${cloud.url}; work dir ${where.work}; repository ${where.repo}; ${withBooter ? "instances boot as containers" : "instances are records only"}; answers ${JSON.stringify(answers)}`,
    );
    try {
      return await part(cloud).catch((e: unknown) => {
        console.error(e);
        return false;
      });
    } finally {
      await cloud.close();
    }
  }
  /** `--record <dir>`: the default answers' logs in <dir>, another set's in <dir>/<set id>/ with its answers.json. */
  const keep = (name: string, calls: LoggedCall[], set?: { id: string; answers: Answers }) => {
    const failed = calls.filter((c) => c.status >= 400);
    console.log(
      `${name}: calls: ${calls.length}, refused: ${failed.length} (${[...new Set(failed.map((c) => `${c.action} ${c.error}`))].join("; ")})`,
    );
    if (record && !record.endsWith(".jsonl")) {
      const dir = !set || set.id === "defaults" ? record : join(record, set.id);
      mkdirSync(dir, { recursive: true });
      if (dir !== record) writeFileSync(join(dir, "answers.json"), `${JSON.stringify(set!.answers)}\n`);
      writeFileSync(join(dir, `${name}-${PROVIDER}.jsonl`), `${calls.map((c) => JSON.stringify(c)).join("\n")}\n`);
    }
  };

  // Throw-away secrets of this run (rds mode and the cluster's deploy step refuse to plan without them).
  ts.env.TF_VAR_db_password = `Lc1-${randomBytes(9).toString("base64url")}`;
  ts.env.TF_VAR_jwt_secret = randomBytes(36).toString("base64");
  let ok = true;
  for (const boot of only ? [] : boots) {
    const name = `${boot.topology}-boot`;
    ok =
      (await withCloud(
        name,
        boot.booter,
        answerSets[0]!.answers,
        async (cloud) => {
          const passed = await bootScenario(ts, cloud, boot, where);
          keep(name, cloud.log.calls);
          return passed;
        },
        boot.network,
      )) && ok;
  }
  const table = readChangeTable(join(where.repo, "docs", "deploy.md"));
  const outcome: Record<string, Record<string, boolean>> = {};
  // `--boot-only`: the booted environments alone.
  for (const set of flag("boot-only") ? [] : answerSets) {
    outcome[set.id] = {};
    ok =
      (await withCloud(`variants (answers: ${set.id})`, undefined, set.answers, async (cloud) => {
        let passed = true;
        for (const variant of variants) {
          const first = cloud.log.calls.length;
          const result = variant.scaling
            ? await runScalingVariant(ts, cloud, variant, table, where)
            : await runVariant(ts, cloud, variant, table, where);
          outcome[set.id]![variant.id] = result;
          passed = result && passed;
          keep(variant.id, cloud.log.calls.slice(first), set);
        }
        return passed;
      })) && ok;
  }
  if (record?.endsWith(".jsonl")) copyFileSync(logFile, record);

  console.log(
    JSON.stringify({
      result: ok ? "pass" : "fail",
      seconds: (Date.now() - began) / 1000,
      answerSets: outcome,
      steps: ts.steps,
    }),
  );
  if (ok) rmSync(where.work, { recursive: true, force: true });
  else console.log(`work dir kept for a look: ${where.work}`);
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exit(await rehearseCloud({ argv: process.argv.slice(2) }));
}

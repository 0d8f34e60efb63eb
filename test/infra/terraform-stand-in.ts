/**
 * Runs parts of a synthesized stack through the real Terraform CLI, offline: the stack's
 * variables, locals and outputs as they are, and chosen provider resources as `terraform_data`
 * stand-ins whose `input` holds exactly the expressions the real resource would get. What
 * Terraform itself decides (sensitivity in plan text, preconditions, variable validation,
 * lifecycle rules) is then the real thing; only the provider's API is absent.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireTool, terraformCommand } from "../support/tools.js";
import type { TfJson } from "./synth-helpers.js";

export const hasTerraform = requireTool("terraform").available;

export interface TerraformRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A scratch Terraform working directory (local state), removed by `dispose`. */
export class TerraformDir {
  readonly dir = mkdtempSync(path.join(tmpdir(), "todo-tf-stand-in-"));

  write(config: TfJson): void {
    writeFileSync(path.join(this.dir, "main.tf.json"), `${JSON.stringify(config, null, 2)}\n`);
  }

  run(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): TerraformRun {
    const r = spawnSync(terraformCommand(), args, {
      cwd: this.dir,
      encoding: "utf8",
      input,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TF_CLI_CONFIG_FILE: "/dev/null",
        TF_IN_AUTOMATION: "1",
        CHECKPOINT_DISABLE: "1",
        ...env,
      },
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  init(): TerraformRun {
    return this.run(["init", "-input=false", "-no-color"]);
  }

  plan(env: NodeJS.ProcessEnv = {}): TerraformRun {
    return this.run(["plan", "-input=false", "-no-color"], env);
  }

  apply(env: NodeJS.ProcessEnv = {}): TerraformRun {
    return this.run(["apply", "-auto-approve", "-input=false", "-no-color"], env);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The locals that read no resource or data source, directly or through another local. */
function selfContained(locals: Record<string, unknown>): Record<string, unknown> {
  const kept = new Map(
    Object.entries(locals).filter(([, v]) => !/\b(data\.|volcengine_|null_resource\.)/.test(JSON.stringify(v))),
  );
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, v] of kept) {
      const uses = [...JSON.stringify(v).matchAll(/\blocal\.([\w-]+)/g)].map((m) => m[1]!);
      if (uses.some((u) => !kept.has(u))) {
        kept.delete(name);
        changed = true;
      }
    }
  }
  return Object.fromEntries(kept);
}

/** The resource's name (cdktf's friendly unique id) of every instance of a type in the stack. */
export function resourceNames(tf: TfJson, type: string): string[] {
  return Object.keys(tf.resource?.[type] ?? {});
}

/**
 * `${type.name.attr}` references rewritten to `${terraform_data.<type>__<name>.output.attr}`,
 * so expressions that point at a stood-in resource still resolve.
 */
export function retarget(value: unknown, types: readonly string[]): unknown {
  const text = JSON.stringify(value);
  const re = new RegExp(`\\b(${types.join("|")})\\.([\\w-]+)\\.(\\w+)`, "g");
  return JSON.parse(text.replace(re, (_m, type, name, attr) => `terraform_data.${type}__${name}.output.${attr}`));
}

/**
 * A configuration of the stack's variables and locals with the given resources as stand-ins:
 * `pick(type, body)` chooses what of each resource goes into the stand-in's `input` (the
 * attributes under test), `lifecycle` copies its lifecycle (preconditions, ignore_changes of
 * `input`).
 */
export function standIn(
  tf: TfJson,
  pick: Record<string, (body: Record<string, unknown>) => Record<string, unknown>>,
  extra: TfJson = {},
): TfJson {
  const types = Object.keys(pick);
  const data: Record<string, unknown> = {};
  for (const type of types) {
    for (const [name, body] of Object.entries<Record<string, unknown>>(tf.resource?.[type] ?? {})) {
      data[`${type}__${name}`] = retarget({ input: pick[type]!(body) }, types);
    }
  }
  return {
    ...(tf.variable ? { variable: tf.variable } : {}),
    ...(tf.locals ? { locals: selfContained(tf.locals) } : {}),
    ...extra,
    resource: { ...(extra.resource ?? {}), terraform_data: { ...(extra.resource?.terraform_data ?? {}), ...data } },
  };
}

/**
 * Chosen resources as `terraform_data` stand-ins that behave like the provider's resources where
 * Terraform decides the order of operations: their ForceNew attributes (the provider's source,
 * infra/provider/volcengine.force-new.json) go into `triggers_replace`, the others into `input`,
 * `create_before_destroy` and `depends_on` are kept. The order of operations is that of the
 * apply's output (`operations`, with `-parallelism=1`). References to resources outside the set
 * become constants.
 */
export function orderingStandIn(
  tf: TfJson,
  pick: (type: string, name: string) => boolean,
  forceNew: Readonly<Record<string, readonly string[]>>,
): TfJson {
  const chosen = new Set<string>();
  for (const [type, byName] of Object.entries<Record<string, unknown>>(tf.resource ?? {}))
    for (const name of Object.keys(byName)) if (pick(type, name)) chosen.add(`${type}.${name}`);
  const ref = /\$\{([a-z][a-z0-9_]*)\.([\w-]+)\.(\w+)\}/g;
  const rewrite = (v: unknown): unknown =>
    JSON.parse(
      JSON.stringify(v).replace(ref, (_m, type: string, name: string, attr: string) =>
        chosen.has(`${type}.${name}`)
          ? `\${terraform_data.${type}__${name}.${attr === "id" ? "id" : `output.${attr}`}}`
          : `outside:${type}.${name}.${attr}`,
      ),
    );
  const data: Record<string, unknown> = {};
  for (const address of chosen) {
    const [type, name] = address.split(".") as [string, string];
    const { lifecycle, depends_on, ...body } = tf.resource[type][name] as Record<string, unknown>;
    const fn = new Set((forceNew[type] ?? []).map((p) => p.split(".")[0]!));
    const triggers = Object.fromEntries(Object.entries(body).filter(([k]) => fn.has(k)));
    const input = Object.fromEntries(Object.entries(body).filter(([k]) => !fn.has(k)));
    const cbd = (lifecycle as { create_before_destroy?: boolean } | undefined)?.create_before_destroy;
    data[`${type}__${name}`] = rewrite({
      triggers_replace: triggers,
      input,
      ...(cbd ? { lifecycle: { create_before_destroy: true } } : {}),
      ...(Array.isArray(depends_on)
        ? {
            depends_on: depends_on
              .filter((d: string) => chosen.has(d))
              .map((d: string) => `terraform_data.${d.replace(".", "__")}`),
          }
        : {}),
    });
  }
  return { resource: { terraform_data: data } };
}

/** "create|update|destroy <type>.<name>" for each operation an apply's output reports, in order. */
export function operations(applyOutput: string): string[] {
  const verbs: Record<string, string> = { Creating: "create", Modifying: "update", Destroying: "destroy" };
  return [
    ...applyOutput.matchAll(
      /^terraform_data\.(\w+)__([\w-]+)(?: \(deposed object \w+\))?: (Creating|Modifying|Destroying)\.\.\./gm,
    ),
  ].map((m) => `${verbs[m[3]!]} ${m[1]}.${m[2]}`);
}

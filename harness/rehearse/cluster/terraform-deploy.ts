import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../shell.js";
import type { TfJson } from "./stack.js";

/**
 * The cluster's deploy step run by Terraform itself: the synthesized `null_resource`s (one per
 * server, each after the previous one) with their connection through the bastion, their file and
 * remote-exec provisioners and their triggers, exactly as synthesized. Two things change, so that
 * no provider is needed (nothing here is Volcengine, and CI has no provider mirror):
 *  - each becomes a `terraform_data` (Terraform's built-in resource; `triggers_replace` takes the
 *    triggers), which runs provisioners and connections the same way;
 *  - references to Volcengine resources (a server's private IP and id, the bastion's EIP, the RDS
 *    account and database names and endpoint) become locals holding what the rehearsal built.
 * The state stays in `dir`, so the next apply replaces only the steps whose triggers changed.
 */
export interface DeployWorld {
  /** Values of the Volcengine references (`volcengine_x.name.attr`) the deploy step reads. */
  references: Record<string, string>;
  /** Values of the stack's locals that read Volcengine resources (the RDS endpoint). */
  locals: Record<string, string>;
}

const REFERENCE = /\bvolcengine_[a-z0-9_]+\.[A-Za-z0-9_-]+\.[a-z0-9_]+\b/g;

export function deployConfiguration(tf: TfJson, world: DeployWorld): TfJson {
  const steps = tf.resource?.null_resource ?? {};
  if (Object.keys(steps).length === 0) throw new Error("the synthesized stack has no deploy step (null_resource)");
  const localName = (ref: string) => `rehearsal_${ref.replace(/\./g, "__")}`;
  const locals: Record<string, string> = {};
  const text = JSON.stringify(steps).replace(REFERENCE, (ref) => {
    const value = world.references[ref];
    if (value === undefined) throw new Error(`the deploy step reads ${ref}, which the rehearsal does not stand in for`);
    locals[localName(ref)] = value;
    return `local.${localName(ref)}`;
  });
  const resources: TfJson = {};
  for (const [key, step] of Object.entries(JSON.parse(text) as TfJson)) {
    const { triggers, depends_on: dependsOn, "//": _meta, ...rest } = step;
    resources[key] = {
      ...rest,
      triggers_replace: triggers,
      depends_on: (dependsOn as string[] | undefined)
        ?.filter((d) => d.startsWith("null_resource."))
        .map((d) => d.replace(/^null_resource\./, "terraform_data.")),
    };
  }
  // The stack's own locals the deploy step uses (the SSH key file), and the stand-ins.
  const used = new Set([...text.matchAll(/local\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]!));
  for (const name of used) {
    if (name in locals) continue;
    if (name in world.locals) locals[name] = world.locals[name]!;
    else if (tf.locals?.[name] !== undefined && !REFERENCE.test(String(tf.locals[name])))
      locals[name] = tf.locals[name];
    else throw new Error(`the deploy step reads local.${name}, which reads Volcengine resources`);
    REFERENCE.lastIndex = 0;
  }
  return { variable: tf.variable, locals, resource: { terraform_data: resources } };
}

/** `terraform apply` of the deploy configuration in `dir`; returns its output (the provisioners' too). */
export async function applyDeploy(
  dir: string,
  config: TfJson,
  secrets: { jwtSecret: string; dbPassword: string },
  onOutput?: (chunk: string) => void,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "main.tf.json"), `${JSON.stringify(config, null, 2)}\n`);
  const terraform = process.env.TERRAFORM_BINARY_NAME || "terraform";
  const env = {
    ...process.env,
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
    TF_VAR_jwt_secret: secrets.jwtSecret,
    TF_VAR_db_password: secrets.dbPassword,
  };
  await run(terraform, ["init", "-no-color", "-input=false"], { cwd: dir, env, timeoutMs: 120_000 });
  const applied = await run(terraform, ["apply", "-no-color", "-input=false", "-auto-approve"], {
    cwd: dir,
    env,
    timeoutMs: 30 * 60_000,
    allowFailure: true,
    onOutput,
  });
  if (applied.code !== 0) throw new Error(`terraform apply of the deploy step failed:\n${applied.output.slice(-4000)}`);
  return applied.output;
}

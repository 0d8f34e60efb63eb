import { addressesOf, canonical, identityOf, type TerraformJson } from "./replacement.js";
import { createHash } from "node:crypto";

/**
 * The data-loss guard: a deploy that would destroy or replace the RDS instance (every row of the
 * database) or the backup bucket (every backup) is refused at plan, unless the environment's
 * `allowReplace` names it.
 *
 * What it compares: the identity of the guarded resources (their ForceNew attributes and those of
 * the resources they refer to, recursively: replacement.ts), recorded in the stack's own state by
 * provider-free `terraform_data` resources, so it works with every backend and needs no read of
 * the state from outside:
 * - `data_guard_<thing>` holds the identity (hash and readable summary) of the last deploy; its
 *   `input` changes are ignored, so at plan its `output` is what was deployed;
 * - `data_guard_<thing>_presence` says whether the thing exists; when it appears (local → rds, or a
 *   new environment) the record is replaced and takes the new identity;
 * - `data_guard` carries one precondition per thing: the recorded identity is empty or equal to
 *   this configuration's, or the deploy is refused with a message naming what would be lost.
 * With `allowReplace` naming the thing, the record and its presence follow the configuration
 * (nothing ignored) and no precondition is emitted. An environment deployed before the guard
 * existed has no record: that deploy writes it. Destroy checks no preconditions, so `cdktf destroy`
 * stays the owner's explicit choice (docs/deploy.md, Tear it all down).
 */
export const GUARDED = {
  database: {
    types: ["volcengine_rds_postgresql_instance"],
    what: "the RDS for PostgreSQL instance",
    loses: "every row of the database (RDS keeps no backup of a deleted instance)",
  },
  backups: {
    types: ["volcengine_tos_bucket"],
    /** Construct id "backups": the backup bucket, not the files bucket beside it. */
    prefix: "backups_",
    what: "the backup bucket",
    loses: "every off-server backup in it",
  },
  files: {
    types: ["volcengine_tos_bucket"],
    prefix: "files_",
    what: "the files bucket",
    loses: "every attachment in it (the todos keep pointing at objects that are gone)",
  },
} as const satisfies Record<string, { types: readonly string[]; prefix?: string; what: string; loses: string }>;

export type GuardedData = keyof typeof GUARDED;
export const GUARDED_DATA = Object.keys(GUARDED) as GuardedData[];

/** The identity record of each guarded thing in this configuration ("" hash: it does not exist). */
export function dataIdentities(tf: TerraformJson): Record<GuardedData, { hash: string; summary: string }> {
  const out = {} as Record<GuardedData, { hash: string; summary: string }>;
  for (const data of GUARDED_DATA) {
    const guarded: { types: readonly string[]; prefix?: string } = GUARDED[data];
    const addresses = guarded.types
      .flatMap((type) => addressesOf(tf, type))
      .filter((address) => !guarded.prefix || address.split(".")[1]!.startsWith(guarded.prefix))
      .sort();
    const identity = Object.fromEntries(addresses.map((a) => [a, identityOf(tf, a) ?? null]));
    out[data] = addresses.length
      ? { hash: createHash("sha256").update(canonical(identity)).digest("hex"), summary: summarize(identity) }
      : { hash: "", summary: "none: this configuration has no such resource, so the deploy destroys it" };
  }
  return out;
}

/** The synthesized configuration with the guard's `terraform_data` resources added. */
export function withDataGuard(tf: TerraformJson, opts: { stack: string; allowReplace: readonly GuardedData[] }) {
  const current = dataIdentities(tf);
  const guard: Record<string, unknown> = {};
  const preconditions: { condition: string; error_message: string }[] = [];
  for (const d of GUARDED_DATA) {
    const allowed = opts.allowReplace.includes(d);
    const present = current[d].hash !== "";
    const record = `terraform_data.data_guard_${d}`;
    guard[`data_guard_${d}_presence`] = {
      input: present ? "present" : "absent",
      // A thing that goes away leaves its presence as it was (the record must keep refusing), unless allowed.
      ...(present || allowed ? {} : { lifecycle: { ignore_changes: ["input"] } }),
    };
    guard[`data_guard_${d}`] = {
      input: { hash: current[d].hash, summary: template(current[d].summary) },
      lifecycle: {
        ...(allowed ? {} : { ignore_changes: ["input"] }),
        replace_triggered_by: [`terraform_data.data_guard_${d}_presence`],
      },
    };
    if (allowed) continue;
    preconditions.push({
      condition: `\${${record}.output.hash == "" || ${record}.output.hash == "${current[d].hash}"}`,
      error_message: template(
        `Refused: this deploy would destroy or replace ${GUARDED[d].what} of ${opts.stack}, and with it ${GUARDED[d].loses}. ` +
          "What identifies it (its ForceNew settings and those of the network it sits in) differs from the last deploy. " +
          "Last deploy: \u0000PREVIOUS\u0000. " +
          `This configuration: ${current[d].summary}. ` +
          `If that is really what you want, take a backup first (docs/operations.md), add "allowReplace": ["${d}"] to this environment in stack.config.json for this one deploy, and remove it afterwards. ` +
          "Otherwise undo the change (docs/deploy.md, Changes that lose data).",
      ).replace("\u0000PREVIOUS\u0000", `\${${record}.output.summary}`),
    });
  }
  guard.data_guard = {
    input: "checks the recorded identities",
    ...(preconditions.length ? { lifecycle: { precondition: preconditions } } : {}),
  };
  const resource = tf.resource ?? {};
  return {
    ...tf,
    resource: { ...resource, terraform_data: { ...(resource.terraform_data ?? {}), ...guard } },
  };
}

/** A literal text in Terraform's JSON syntax, where `${` and `%{` would start a template. */
function template(text: string): string {
  return text.replace(/\$\{/g, "$${").replace(/%\{/g, "%%{");
}

/** "subnet_id → volcengine_subnet.x (cidr_block=172.16.1.0/24, ...)"-style text of an identity. */
function summarize(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.map(summarize).join(", ");
  if (typeof value !== "object") return String(value);
  const obj = value as Record<string, unknown>;
  if (Object.keys(obj).length === 0) return "(its address only)";
  if ("expression" in obj && "of" in obj) {
    const of = Object.entries(obj.of as Record<string, unknown>);
    return of.length ? of.map(([ref, id]) => `${ref} (${summarize(id)})`).join(", ") : String(obj.expression);
  }
  return Object.entries(obj)
    .map(([k, v]) =>
      typeof v === "object" && v !== null && !("expression" in v) ? `${k}: ${summarize(v)}` : `${k}=${summarize(v)}`,
    )
    .join("; ");
}

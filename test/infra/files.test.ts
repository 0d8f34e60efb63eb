/**
 * `files` in the stack: the private bucket of attachments, its rules, the servers' policy and the
 * API's settings, in both topologies; what turning it on does to an environment that exists.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import { addressesOf, canonical, identityOf } from "../../infra/stacks/replacement.js";
import {
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  projectSchemas,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";
import { hasTerraform, TerraformDir } from "./terraform-stand-in.js";
import { providerMirror, terraformWithMirror } from "./provider-mirror.js";

afterAll(cleanupSynthDirs);

const FILES = { corsOrigins: ["https://app.example.com"] };
const single = (o: Record<string, unknown> = {}) => baseEnvironment({ database: RDS, ...o });
const cluster = (o: Record<string, unknown> = {}) =>
  baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 3 }, ...o });

async function stackOf(env: Record<string, unknown>): Promise<TfJson> {
  return (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
}

const byName = (tf: TfJson, type: string, prefix: string) =>
  Object.entries<any>(tf.resource[type] ?? {}).filter(([name]) => name.startsWith(prefix));

/** The deploy steps' secrets scripts (where `set-env` writes the API's settings). */
const deployScripts = (tf: TfJson) => resources(tf, "null_resource").map((r: any) => JSON.stringify(r.provisioner));

describe("files off (the default)", () => {
  it("creates nothing for files and tells the API nothing about them", async () => {
    const tf = await stackOf(single());
    expect(byName(tf, "volcengine_tos_bucket", "files_")).toEqual([]);
    expect(Object.keys(tf.resource.volcengine_iam_policy)).toHaveLength(1);
    expect(tf.output.files_bucket).toBeUndefined();
    for (const script of deployScripts(tf)) expect(script).not.toContain("FILES_");
    expect(JSON.stringify(tf)).not.toContain("FILES_ROLE");
  });
});

describe("the synthesized files resources", () => {
  it.each([
    ["one server", single({ files: FILES })],
    ["a cluster", cluster({ files: FILES })],
  ])("%s: every resource and attribute is one provider 0.0.196 knows", async (_name, env) => {
    expect(formatProblems(checkTerraformJson(await stackOf(env), projectSchemas()))).toBe("");
  });
});

describe("files on, one server", () => {
  it("a private bucket apart from the backups, with the abort rule and the configured CORS origins", async () => {
    const tf = await stackOf(single({ files: FILES }));
    const buckets = Object.values<any>(tf.resource.volcengine_tos_bucket);
    expect(buckets).toHaveLength(2);
    const [[, files]] = byName(tf, "volcengine_tos_bucket", "files_") as [[string, any]];
    expect(files.public_acl).toBe("private");
    expect(files.bucket_name).toMatch(/^todo-api-prod-files-[0-9a-f]{8}$/);
    expect(files.bucket_name).not.toBe(tf.output.backup_bucket.value);
    expect(files.lifecycle.ignore_changes).toEqual(["bucket_name"]);
    const [[, rule]] = byName(tf, "volcengine_tos_bucket_lifecycle", "files_") as [[string, any]];
    expect(rule.rules).toEqual([
      {
        id: "abort-incomplete-uploads",
        status: "Enabled",
        prefix: "files/",
        abort_incomplete_multipart_upload: { days_after_initiation: 1 },
      },
    ]);
    const [cors] = Object.values<any>(tf.resource.volcengine_tos_bucket_cors);
    expect(cors.cors_rules[0]).toMatchObject({
      allowed_origins: ["https://app.example.com"],
      allowed_methods: ["PUT", "GET", "HEAD"],
    });
    expect(tf.output.files_bucket.value).toBe(files.bucket_name);
  });

  it("no CORS rule without origins (mobile apps need none)", async () => {
    const tf = await stackOf(single({ files: {} }));
    expect(tf.resource.volcengine_tos_bucket_cors).toBeUndefined();
  });

  it("lets the server's role Put/Get/Delete under the files prefix only, and denies bucket changes", async () => {
    const tf = await stackOf(single({ files: { keyPrefix: "attachments/" } }));
    const [[, policy]] = byName(tf, "volcengine_iam_policy", "files_") as [[string, any]];
    const doc = JSON.parse(policy.policy_document);
    const bucket = tf.output.files_bucket.value;
    expect(doc.Statement[0]).toEqual({
      Effect: "Allow",
      Action: ["tos:PutObject", "tos:GetObject", "tos:DeleteObject", "tos:AbortMultipartUpload"],
      Resource: [`trn:tos:::${bucket}/attachments/*`],
    });
    expect(doc.Statement[1].Effect).toBe("Deny");
    expect(doc.Statement[1].Action).toContain("tos:PutBucket*");
    expect(JSON.stringify(doc)).not.toContain("ListBucket");
    // The one server holds the backup role (one role per instance): the files policy joins it.
    const attachments = byName(tf, "volcengine_iam_role_policy_attachment", "files_");
    expect(attachments).toHaveLength(1);
    expect(attachments[0]![1].role_name).toMatch(/volcengine_iam_role\.backups_role_/);
    expect(byName(tf, "volcengine_iam_role", "files_")).toEqual([]);
  });

  it("writes the API's FILES_* settings in the deploy step, and the role into the host settings", async () => {
    const tf = await stackOf(single({ files: { ...FILES, maxBytes: 5_000_000, allowedTypes: ["image/*"] } }));
    const [script] = deployScripts(tf);
    const bucket = tf.output.files_bucket.value;
    for (const [key, value] of [
      ["FILES_STORAGE", "tos"],
      ["FILES_TOS_BUCKET", bucket],
      ["FILES_TOS_REGION", "cn-beijing"],
      ["FILES_TOS_ENDPOINT", "tos-cn-beijing.volces.com"],
      ["FILES_TOS_KEY_PREFIX", "files/"],
      ["FILES_CREDENTIALS_FILE", "/run/todo-api-files/credentials.json"],
      ["FILES_MAX_BYTES", "5000000"],
      ["FILES_ALLOWED_TYPES", "image/*"],
    ])
      expect(script).toContain(`printf '%s' '${value}' | $SUDO /usr/local/sbin/todo-release set-env ${key}`);
    expect(script).toContain("FILES_ROLE='todo-api-prod-backup'");
  });

  it("the deploy waits for the policy to be on the role", async () => {
    const tf = await stackOf(single({ files: {} }));
    const [deploy] = resources(tf, "null_resource") as any[];
    expect(deploy.depends_on.some((d: string) => d.startsWith("volcengine_iam_role_policy_attachment.files_"))).toBe(
      true,
    );
  });
});

describe("files on, a cluster", () => {
  it("every app server gets the policy: the first through the backup role, the others through the files role", async () => {
    const tf = await stackOf(cluster({ files: {} }));
    const [[roleName, role]] = byName(tf, "volcengine_iam_role", "files_") as [[string, any]];
    expect(role.role_name).toBe("todo-api-prod-files");
    const policyRoles = byName(tf, "volcengine_iam_role_policy_attachment", "files_").map(([, a]) => a.role_name);
    expect(policyRoles).toHaveLength(2);
    expect(policyRoles).toContain(`\${volcengine_iam_role.${roleName}.role_name}`);
    expect(policyRoles.some((r) => /^\$\{volcengine_iam_role\.backups_role_\w+\.role_name\}$/.test(r))).toBe(true);
    const servers = Object.keys(tf.resource.volcengine_ecs_instance).filter((n) => n.startsWith("servers_"));
    expect(servers).toHaveLength(3);
    // Each server holds exactly one role.
    const holders = Object.values<any>(tf.resource.volcengine_iam_role_attachment).map((a) => a.instance_id);
    expect(holders).toHaveLength(3);
    expect(new Set(holders).size).toBe(3);
    // And its credentials unit is told the role it holds.
    const scripts = deployScripts(tf);
    expect(scripts.filter((s) => s.includes("FILES_ROLE='todo-api-prod-backup'"))).toHaveLength(1);
    expect(scripts.filter((s) => s.includes("FILES_ROLE='todo-api-prod-files'"))).toHaveLength(2);
    for (const s of scripts) expect(s).toContain("set-env FILES_STORAGE");
  });
});

/**
 * Every resource of `before` is still there with the same identity (its ForceNew attributes and
 * those of what it refers to): nothing destroyed or replaced. Except the deploy steps, whose
 * triggers carry the new settings (a rolling redeploy), and the data-loss guard's records.
 */
function replacedOrDestroyed(before: TfJson, after: TfJson): string[] {
  const out: string[] = [];
  for (const type of Object.keys(before.resource)) {
    if (type === "null_resource" || type === "terraform_data") continue;
    for (const address of addressesOf(before, type)) {
      const now = identityOf(after, address);
      if (now === undefined || canonical(now) !== canonical(identityOf(before, address))) out.push(address);
      const [t, name] = address.split(".") as [string, string];
      if (
        JSON.stringify(before.resource[t][name].lifecycle?.replace_triggered_by ?? []) !==
        JSON.stringify(after.resource[t][name].lifecycle?.replace_triggered_by ?? [])
      )
        out.push(`${address} (replace_triggered_by)`);
    }
  }
  return out;
}

describe("turning files on for an environment that exists", () => {
  it.each([
    ["one server, local database", baseEnvironment()],
    ["one server, RDS", single()],
    ["a cluster", cluster()],
  ])("%s: replaces and destroys nothing, and keeps the backup guard's identity", async (_name, env) => {
    const before = await stackOf(env);
    const after = await stackOf({ ...env, files: FILES });
    expect(replacedOrDestroyed(before, after)).toEqual([]);
    const guard = (tf: TfJson) => tf.resource.terraform_data;
    expect(guard(after).data_guard_backups.input).toEqual(guard(before).data_guard_backups.input);
    expect(guard(after).data_guard_database.input).toEqual(guard(before).data_guard_database.input);
    // The files bucket has its own record: turning files off again is refused at plan.
    expect(guard(before).data_guard_files.input.hash).toBe("");
    expect(guard(after).data_guard_files.input.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(guard(after).data_guard.lifecycle.precondition)).toContain("the files bucket");
  });
});

describe("the files configuration", () => {
  const problems = async (files: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    try {
      await stackOf(single({ files, ...extra }));
      return "";
    } catch (err) {
      return (err as Error).message;
    }
  };

  it("refuses what it cannot use, saying what to write instead", async () => {
    expect(await problems({ corsOrigins: ["https://app.example.com/path"] })).toContain(
      'files.corsOrigins.0: must be a web origin such as "https://app.example.com"',
    );
    expect(await problems({ corsOrigins: ["http://app.example.com"] })).toContain("http only for localhost");
    expect(await problems({ keyPrefix: "files" })).toContain(
      'files.keyPrefix: must be path segments each ending in "/"',
    );
    expect(await problems({ allowedTypes: ["image/png; q=1"] })).toContain("files.allowedTypes.0:");
    expect(await problems({ maxBytes: 0 })).toContain("files.maxBytes:");
    expect(await problems({ public: true })).toContain("files.public: unknown setting");
    expect(
      await problems({ bucketName: "shared-bucket-name" }, { backups: { bucketName: "shared-bucket-name" } }),
    ).toContain("files.bucketName: must differ from backups.bucketName");
    expect(await problems({}, { allowReplace: ["files", "files"] })).toContain("at most once");
  });

  it("accepts localhost over http for web development", async () => {
    expect(await problems({ corsOrigins: ["http://localhost:5173", "https://*.example.com"] })).toBe("");
  });

  it("names a bucket that cannot be renamed at plan, like the backup bucket", async () => {
    const tf = await stackOf(single({ files: { bucketName: "my-files-bucket" } }));
    const [[, rule]] = byName(tf, "volcengine_tos_bucket_lifecycle", "files_") as [[string, any]];
    expect(rule.lifecycle.precondition[0].error_message).toContain(
      'A bucket cannot be renamed: set "files": { "bucketName": "<the existing name>" }',
    );
  });

  it("the keep_files_command output takes the bucket and its rules out of the state", async () => {
    const tf = await stackOf(single({ files: FILES }));
    expect(tf.output.keep_files_command.value).toMatch(
      /^terraform state rm volcengine_tos_bucket\.files_bucket_\S+ volcengine_tos_bucket_lifecycle\.files_lifecycle_\S+ volcengine_tos_bucket_cors\.files_cors_\S+$/,
    );
  });
});

describe.skipIf(!hasTerraform)("the data-loss guard over the files bucket, in a real plan", () => {
  const dir = new TerraformDir();
  afterAll(() => dir.dispose());
  const flat = (text: string) => text.replace(/[│\s]+/g, " ");
  /** Only the guard's own pieces of the stack (they need no provider), on a local state. */
  const guardOf = (tf: TfJson): TfJson => ({
    resource: {
      terraform_data: Object.fromEntries(
        Object.entries(tf.resource.terraform_data).filter(([name]) => name.startsWith("data_guard")),
      ),
    },
  });
  let initialized = false;
  const deploy = async (env: Record<string, unknown>) => {
    dir.write(guardOf(await stackOf(env)));
    if (!initialized) expect(dir.init().status).toBe(0);
    initialized = true;
    return dir.apply();
  };

  it("records the bucket when files are turned on, and refuses turning them off unless allowReplace names files", async () => {
    expect((await deploy(single())).status).toBe(0);
    const on = await deploy(single({ files: FILES }));
    expect(on.stderr).toBe("");
    expect(on.status).toBe(0);
    // A new CORS origin or limit does not touch the bucket's identity.
    const tuned = await deploy(single({ files: { corsOrigins: ["https://web.example.com"], maxBytes: 1000 } }));
    expect(tuned.stderr).toBe("");
    const off = await deploy(single());
    expect(off.status).not.toBe(0);
    expect(flat(off.stderr)).toContain("the files bucket of todo-api-prod");
    expect(flat(off.stderr)).toContain('"allowReplace": ["files"]');
    const allowed = await deploy(single({ allowReplace: ["files"] }));
    expect(allowed.stderr).toBe("");
    expect(allowed.status).toBe(0);
  });
});

describe("terraform validate of the files stacks with the real providers", () => {
  const mirror = providerMirror();
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }
  it.each([
    ["one server", single({ files: FILES })],
    ["a cluster", cluster({ files: FILES })],
  ])(
    "%s is valid",
    async (_name, env) => {
      const result = await synth({ environments: { v: env } });
      const terraform = terraformWithMirror(mirror.path!, path.join(result.outdir, "stacks", "todo-api-v"));
      try {
        const init = terraform(["init", "-backend=false", "-input=false", "-no-color"]);
        expect(init.status, `${init.stdout}\n${init.stderr}`).toBe(0);
        const report = JSON.parse(terraform(["validate", "-json", "-no-color"]).stdout) as {
          valid: boolean;
          diagnostics: { severity: string; summary: string; detail?: string }[];
        };
        expect(report.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        expect(report.valid).toBe(true);
      } finally {
        terraform.cleanup();
      }
    },
    180_000,
  );
});

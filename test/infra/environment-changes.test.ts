/**
 * What a later deploy, a topology switch or a destroy does with the real provider (v0.0.196),
 * checked where it is decided. Only the synthesized JSON and the Terraform CLI (offline,
 * provider-free stand-ins) are used.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADDRESS_VARIANTS, CERT } from "./address-variants.js";
import {
  RDS,
  TEST_PUBLIC_KEY,
  baseEnvironment,
  cleanupSynthDirs,
  infra,
  projectRoot,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";
import { terraformCommand, requireTool } from "../support/tools.js";

/** The rule CreateVpc, CreateSecurityGroup, AllocateEipAddress and RunInstances document. */
const VOLCENGINE_DESCRIPTION = /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5,._ =\-，。]{0,254}$/;
const OTHER_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq2mF0gqVvWlQ1mN3x8yq1cT9b2k5Jr7d0p4sXh6uYe second-laptop@example";

const stacks: Record<string, TfJson> = {};
beforeAll(async () => {
  for (const [variant, env] of Object.entries(ADDRESS_VARIANTS))
    stacks[variant] = (await synth({ environments: { v: env } })).stacks["todo-api-v"]!;
});
afterAll(cleanupSynthDirs);

const one = async (env: Record<string, unknown>) => (await synth({ environments: { v: env } })).stacks["todo-api-v"]!;
const ruleAddresses = (tf: TfJson, port: number) =>
  Object.entries<any>(tf.resource.volcengine_security_group_rule)
    .filter(([, r]) => r.direction === "ingress" && r.port_start === port)
    .map(([name]) => name)
    .sort();

describe("first deploy", () => {
  it("sets only descriptions Volcengine's APIs accept, in every topology", () => {
    for (const [variant, tf] of Object.entries(stacks)) {
      const texts: string[] = [];
      for (const byName of Object.values<Record<string, any>>(tf.resource)) {
        for (const r of Object.values(byName)) {
          for (const key of ["description", "allow_list_desc"]) if (typeof r[key] === "string") texts.push(r[key]);
        }
      }
      expect(texts.length, variant).toBeGreaterThan(8);
      for (const text of texts) expect(text, `${variant}: ${text}`).toMatch(VOLCENGINE_DESCRIPTION);
    }
  });
});

describe("cluster behind the CLB", () => {
  it("lets the CLB's layer-7 source range 100.64.0.0/10 reach port 80 and trusts it as a proxy", () => {
    const tf = stacks["cluster without certificate"]!;
    const http = resources(tf, "volcengine_security_group_rule").filter(
      (r) => r.direction === "ingress" && r.port_start === 80,
    );
    expect(http.map((r) => r.cidr_ip)).toEqual(["100.64.0.0/10"]);
    for (const step of resources(tf, "null_resource")) {
      const script = step.provisioner.flatMap((p: any) => p["remote-exec"]?.inline ?? []).join("\n");
      expect(script).toMatch(/printf '%s' '[^']*\b100\.64\.0\.0\/10\b[^']*' \| \$SUDO \S+ set-env TRUSTED_PROXIES/);
    }
  });
});

describe("rds mode, plan after apply", () => {
  it("gives the app's RDS account the privileges RDS grants by default, as the provider's example does", () => {
    for (const variant of ["single rds + domain + alerts", "cluster with certificate + alerts"]) {
      expect(resources(stacks[variant]!, "volcengine_rds_postgresql_account")[0], variant).toMatchObject({
        account_type: "Normal",
        account_privileges: "Login,Inherit",
      });
    }
  });
});

const hasTerraform = requireTool("terraform").available;

describe("destroy from a fresh clone", () => {
  it.skipIf(!hasTerraform)(
    "needs no TF_VAR_* secret and no key or certificate file (terraform CLI, offline)",
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-destroy-"));
      const home = path.join(dir, "home");
      try {
        for (const variant of ["single rds + domain + alerts", "cluster with certificate + alerts"]) {
          const tf = stacks[variant]!;
          // Every expression of the stack that reads a local file, and every variable, on a
          // provider-free stand-in: what Terraform evaluates during destroy without the provider.
          const fileReads = new Set<string>();
          const walk = (v: unknown): void => {
            if (typeof v === "string" && v.includes("file(")) fileReads.add(v);
            else if (v && typeof v === "object") Object.values(v).forEach(walk);
          };
          walk({ resource: tf.resource, locals: tf.locals, output: tf.output });
          expect(fileReads.size, variant).toBeGreaterThan(0);
          const probe = { input: { vars: Object.keys(tf.variable).map((v) => `\${var.${v}}`), files: [...fileReads] } };
          const work = path.join(dir, variant.replace(/\W+/g, "-"));
          mkdirSync(work, { recursive: true });
          writeFileSync(
            path.join(work, "main.tf.json"),
            JSON.stringify({ variable: tf.variable, resource: { terraform_data: { probe } } }),
          );
          const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TF_VAR_")));
          const run = (args: string[], extra: Record<string, string> = {}) =>
            spawnSync(terraformCommand(), args, {
              cwd: work,
              encoding: "utf8",
              env: {
                ...clean,
                HOME: home,
                TF_CLI_CONFIG_FILE: "/dev/null",
                TF_IN_AUTOMATION: "1",
                CHECKPOINT_DISABLE: "1",
                ...extra,
              },
              timeout: 60_000,
            });
          // Deploy-time: secrets set, key and certificate files present.
          for (const file of ["~/.ssh/id_ed25519", CERT.certificatePath, CERT.privateKeyPath]) {
            const p = path.join(home, file.slice(2));
            mkdirSync(path.dirname(p), { recursive: true });
            writeFileSync(p, "-----PEM-----\n");
          }
          expect(run(["init", "-input=false"]).status).toBe(0);
          const apply = run(["apply", "-auto-approve", "-input=false", "-no-color"], {
            TF_VAR_db_password: "Deploy-time-Passw0rd",
            TF_VAR_jwt_secret: "J".repeat(40),
          });
          expect(apply.status, apply.stderr).toBe(0);
          // Another computer: only the state. No secrets, no files.
          rmSync(home, { recursive: true, force: true });
          const destroy = run(["destroy", "-auto-approve", "-input=false", "-no-color"]);
          expect(destroy.status, `${variant}\n${destroy.stderr}`).toBe(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it("still stops a deploy without them, and names the bucket and rule to keep the backups", () => {
    const tf = stacks["single rds + domain + alerts"]!;
    const account = resources(tf, "volcengine_rds_postgresql_account")[0]!;
    expect(JSON.stringify(account.lifecycle.precondition)).toContain("TF_VAR_db_password");
    const deploy = resources(tf, "null_resource")[0]!;
    expect(JSON.stringify(deploy.lifecycle.precondition)).toContain("~/.ssh/id_ed25519");
    const [bucket] = Object.keys(tf.resource.volcengine_tos_bucket);
    const [rule] = Object.keys(tf.resource.volcengine_tos_bucket_lifecycle);
    expect(tf.output.keep_backups_command.value).toBe(
      `terraform state rm volcengine_tos_bucket.${bucket} volcengine_tos_bucket_lifecycle.${rule}`,
    );
  });
});

describe("switching topology with RDS", () => {
  it("requires database.secondaryZone, naming the zone an earlier default used, in both topologies", async () => {
    const { parseStackConfig } = await infra();
    const source = path.join(projectRoot, "stack.config.json");
    const noStandby = { ...RDS, secondaryZone: undefined };
    const problems = (env: Record<string, unknown>) => {
      try {
        parseStackConfig({ environments: { v: env } }, { source });
        return "";
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems(baseEnvironment({ database: noStandby }))).toMatch(
      /environments\.v\.database\.secondaryZone: is required with RDS.*standby in "cn-beijing-a"/,
    );
    expect(
      problems(baseEnvironment({ topology: "cluster", database: noStandby, cluster: { secondZone: "cn-beijing-b" } })),
    ).toMatch(/environments\.v\.database\.secondaryZone: is required with RDS.*standby in "cn-beijing-b"/);
  });

  it("gives RDS the same zones in both topologies", async () => {
    const single = await one(baseEnvironment({ database: RDS }));
    const cluster = await one(
      baseEnvironment({ topology: "cluster", database: RDS, cluster: { secondZone: "cn-beijing-c" } }),
    );
    expect(cluster.resource.volcengine_rds_postgresql_instance).toEqual(
      single.resource.volcengine_rds_postgresql_instance,
    );
  });
});

describe("certificate renewal", () => {
  it("creates the new certificate before the old one, still used by the listener, is deleted", () => {
    const cert = resources(stacks["cluster with certificate + alerts"]!, "volcengine_certificate")[0]!;
    expect(cert.lifecycle.create_before_destroy).toBe(true);
  });
});

describe("adding an admin CIDR", () => {
  it("keeps the addresses of every other rule", async () => {
    const one_ = stacks["single local, one admin CIDR"]!;
    const two = stacks["single local"]!;
    for (const port of [80, 443]) expect(ruleAddresses(two, port)).toEqual(ruleAddresses(one_, port));
    expect(ruleAddresses(two, 22)).toEqual(expect.arrayContaining(ruleAddresses(one_, 22)));
    const clusterOne = await one(
      baseEnvironment({
        topology: "cluster",
        database: RDS,
        ssh: { publicKey: TEST_PUBLIC_KEY, adminCidrs: ["198.51.100.7/32"] },
      }),
    );
    const clusterTwo = stacks["cluster without certificate"]!;
    for (const port of [80, 22])
      expect(ruleAddresses(clusterTwo, port)).toEqual(expect.arrayContaining(ruleAddresses(clusterOne, port)));
  });
});

describe("another SSH key", () => {
  it("keeps the bucket name and the user data, and does not replace the key pair", async () => {
    const other = async (topology: "single" | "cluster") => {
      const env =
        topology === "single" ? ADDRESS_VARIANTS["single local"]! : ADDRESS_VARIANTS["cluster without certificate"]!;
      return [await one(env), await one({ ...env, ssh: { ...(env.ssh as object), publicKey: OTHER_KEY } })] as const;
    };
    for (const topology of ["single", "cluster"] as const) {
      const [a, b] = await other(topology);
      expect(resources(b, "volcengine_tos_bucket")[0]!.bucket_name).toBe(
        resources(a, "volcengine_tos_bucket")[0]!.bucket_name,
      );
      expect(resources(b, "volcengine_ecs_instance").map((i) => i.user_data)).toEqual(
        resources(a, "volcengine_ecs_instance").map((i) => i.user_data),
      );
      for (const pair of resources(b, "volcengine_ecs_key_pair"))
        expect(pair.lifecycle.ignore_changes).toContain("public_key");
    }
  });
});

describe.skipIf(!hasTerraform)(
  "another SSH key: an environment whose bucket has another name (terraform CLI, offline)",
  () => {
    it("is stopped at plan naming the existing bucket, instead of replacing the bucket", async () => {
      const synthWith = async (bucketName: string) =>
        one({ ...ADDRESS_VARIANTS["single local"]!, backups: { bucketName } });
      const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-bucket-"));
      // The bucket and its lifecycle rule as synthesized, on terraform_data stand-ins: the bucket
      // keeps its lifecycle (ignore_changes), the rule keeps its precondition.
      const standIn = (tf: TfJson) => {
        const [bucketId, bucket] = Object.entries<any>(tf.resource.volcengine_tos_bucket)[0]!;
        const rule = Object.values<any>(tf.resource.volcengine_tos_bucket_lifecycle)[0]!;
        const ref = (s: string) =>
          s.replaceAll(`volcengine_tos_bucket.${bucketId}.bucket_name`, "terraform_data.bucket.output.bucket_name");
        expect(bucket.lifecycle.ignore_changes).toEqual(["bucket_name"]);
        return JSON.stringify({
          resource: {
            terraform_data: {
              bucket: { input: { bucket_name: bucket.bucket_name }, lifecycle: { ignore_changes: ["input"] } },
              rule: {
                input: "expire-backups",
                lifecycle: {
                  precondition: rule.lifecycle.precondition.map((p: any) => ({
                    condition: ref(p.condition),
                    error_message: ref(p.error_message),
                  })),
                },
              },
            },
          },
        });
      };
      const run = (args: string[]) =>
        spawnSync(terraformCommand(), args, {
          cwd: dir,
          encoding: "utf8",
          env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
          timeout: 60_000,
        });
      try {
        writeFileSync(path.join(dir, "main.tf.json"), standIn(await synthWith("todo-api-v-backups-0ld0ld00")));
        expect(run(["init", "-input=false"]).status).toBe(0);
        expect(run(["apply", "-auto-approve", "-input=false"]).status).toBe(0);
        writeFileSync(path.join(dir, "main.tf.json"), standIn(await synthWith("todo-api-v-backups-4ew4ew00")));
        const plan = run(["plan", "-input=false", "-no-color"]);
        expect(plan.status).not.toBe(0);
        expect(plan.stderr.replace(/\s+/g, " ")).toContain(
          "The backup bucket of this environment is named todo-api-v-backups-0ld0ld00, but the configuration says todo-api-v-backups-4ew4ew00. A bucket cannot be renamed",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  },
);

import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { renderCloudInit } from "../../cloud-init/render.js";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import {
  HTTPS,
  RDS,
  SENTINELS,
  baseEnvironment,
  fakeRelease,
  projectSchemas,
  resources,
  synth,
  type SynthResult,
  type TfJson,
  useSentinelEnvironment,
} from "./synth-helpers.js";

const variants = {
  "local, no domain": { env: baseEnvironment(), mode: "local", domain: undefined },
  "local, domain": { env: baseEnvironment({ https: HTTPS }), mode: "local", domain: HTTPS.domain },
  "rds, no domain": { env: baseEnvironment({ database: RDS }), mode: "rds", domain: undefined },
  "rds, domain": { env: baseEnvironment({ database: RDS, https: HTTPS }), mode: "rds", domain: HTTPS.domain },
} as const;

useSentinelEnvironment();

function ingress(tf: TfJson) {
  return resources(tf, "volcengine_security_group_rule")
    .filter((r) => r.direction === "ingress")
    .map((r) => `${r.protocol}/${r.port_start}-${r.port_end} from ${r.cidr_ip}`)
    .sort();
}

describe.each(Object.entries(variants))("variant %s", (_name, variant) => {
  let result: SynthResult;
  let tf: TfJson;
  beforeAll(async () => {
    result = await synth({ environments: { dev: variant.env } });
    tf = result.stacks["todo-api-dev"]!;
  });

  it("passes the provider schema check", () => {
    const problems = checkTerraformJson(tf, projectSchemas());
    expect(formatProblems(problems)).toBe("");
  });

  it("opens exactly SSH from the admin CIDRs and HTTP/HTTPS from anywhere, never PostgreSQL", () => {
    expect(ingress(tf)).toEqual(
      [
        "tcp/22-22 from 198.51.100.7/32",
        "tcp/22-22 from 203.0.113.0/28",
        "tcp/80-80 from 0.0.0.0/0",
        "tcp/443-443 from 0.0.0.0/0",
      ].sort(),
    );
    const rules = resources(tf, "volcengine_security_group_rule");
    expect(
      rules.some((r) => Number(r.port_start) <= 5432 && Number(r.port_end) >= 5432 && r.direction === "ingress"),
    ).toBe(false);
    expect(rules.filter((r) => r.port_start === 22).map((r) => r.cidr_ip)).not.toContain("0.0.0.0/0");
    const egress = rules.filter((r) => r.direction === "egress");
    // All outbound, as two halves that cannot duplicate a default rule (egress-rules.test.ts).
    expect(egress.map((r) => `${r.protocol} ${r.port_start}/${r.port_end} to ${r.cidr_ip}`).sort()).toEqual([
      "all -1/-1 to 0.0.0.0/1",
      "all -1/-1 to 128.0.0.0/1",
    ]);
  });

  it("configures the provider with the region only", () => {
    expect(tf.provider.volcengine).toEqual([{ region: "cn-beijing" }]);
    expect(tf.terraform.required_providers.volcengine).toEqual({ source: "volcengine/volcengine", version: "0.0.196" });
    expect(tf.terraform.required_providers.null.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("contains no secret value and no credential attribute", () => {
    for (const secret of Object.values(SENTINELS)) expect(result.text).not.toContain(secret);
    expect(result.text).not.toMatch(/"(access_key|secret_key|session_token)"/);
    // The RDS password is only ever a reference to the sensitive variable.
    for (const account of resources(tf, "volcengine_rds_postgresql_account")) {
      expect(account.account_password).toBe("${var.db_password}");
    }
  });

  it("user data is base64 of the rendered cloud-config: valid YAML, within 16 KB, no Terraform syntax", () => {
    const instance = resources(tf, "volcengine_ecs_instance")[0]!;
    expect(instance.user_data).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const text = Buffer.from(instance.user_data, "base64").toString("utf8");
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16 * 1024);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    for (const secret of Object.values(SENTINELS)) expect(text).not.toContain(secret);
    const doc = parseYaml(text);
    expect(doc).toBeTypeOf("object");
    expect(text).toBe(
      renderCloudInit({
        environment: "dev",
        databaseMode: variant.mode,
        // The admin console's networks: the SSH admins' by default (synth-helpers.ts).
        adminConsoleCidrs: ["198.51.100.7/32", "203.0.113.0/28"],
        ...(variant.domain ? { domain: variant.domain, acmeEmail: HTTPS.acmeEmail } : {}),
        // Off-server backups (test/infra/operations.test.ts).
        offsiteBackup: {
          bucket: resources(tf, "volcengine_tos_bucket")[0]!.bucket_name,
          region: "cn-beijing",
          endpoint: "https://tos-s3-cn-beijing.volces.com",
          roleName: "todo-api-dev-backup",
        },
      }),
    );
    expect(instance.instance_charge_type).toBe("PostPaid");
    expect(instance.system_volume_type).toMatch(/^ESSD_/);
  });

  it("creates only pay-as-you-go billable resources, so destroy leaves nothing billable", () => {
    expect(resources(tf, "volcengine_ecs_instance").map((r) => r.instance_charge_type)).toEqual(["PostPaid"]);
    expect(resources(tf, "volcengine_eip_address").map((r) => r.billing_type)).toEqual(["PostPaidByTraffic"]);
    for (const db of resources(tf, "volcengine_rds_postgresql_instance"))
      expect(db.charge_info).toEqual({ charge_type: "PostPaid" });
    expect(result.text).not.toContain("PrePaid");
  });

  it("has the outputs a user needs", () => {
    const outputs = tf.output;
    const expected = [
      "api_url",
      "backup_bucket",
      "docs_url",
      "keep_backups_command",
      "public_ip",
      "ssh_command",
      ...(variant.mode === "rds" ? ["database_endpoint"] : []),
    ];
    expect(Object.keys(outputs).sort()).toEqual(expected.sort());
    const ip = outputs.public_ip.value;
    expect(ip).toMatch(/^\$\{volcengine_eip_address\.[\w-]+\.eip_address\}$/);
    expect(outputs.api_url.value).toBe(variant.domain ? `https://${variant.domain}` : `http://${ip}`);
    expect(outputs.docs_url.value).toBe(`${outputs.api_url.value}/docs`);
    expect(outputs.ssh_command.value).toBe(`ssh -i ~/.ssh/id_ed25519 root@${ip}`);
  });

  it(`creates RDS resources only in rds mode, with an allowlist of exactly the subnet CIDR`, () => {
    const instances = resources(tf, "volcengine_rds_postgresql_instance");
    if (variant.mode === "local") {
      expect(instances).toHaveLength(0);
      expect(tf.variable.db_password).toBeUndefined();
      return;
    }
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      charge_info: { charge_type: "PostPaid" },
      primary_zone_id: "cn-beijing-a",
      secondary_zone_id: "cn-beijing-b",
    });
    const subnet = resources(tf, "volcengine_subnet")[0]!;
    const allowlists = resources(tf, "volcengine_rds_postgresql_allowlist");
    expect(allowlists).toHaveLength(1);
    expect(allowlists[0]!.allow_list).toEqual([subnet.cidr_block]);
    expect(resources(tf, "volcengine_rds_postgresql_allowlist_associate")).toHaveLength(1);
    expect(tf.variable.db_password).toMatchObject({ sensitive: true, type: "string" });
    // A default, so destroy does not need the password; deploys are stopped by the precondition.
    expect(tf.variable.db_password.default).toBe("");
    expect(resources(tf, "volcengine_rds_postgresql_account")[0]!.lifecycle.precondition[0].condition).toBe(
      '${var.db_password != ""}',
    );
    // The DATABASE_URL is written over SSH, never into user data.
    const deploy = resources(tf, "null_resource")[0]!;
    expect(JSON.stringify(deploy.provisioner)).toContain("set-env DATABASE_URL");
    expect(JSON.stringify(deploy.provisioner)).toContain("${urlencode(var.db_password)}");
  });
});

describe("app deployment", () => {
  it("triggers change when the release hash changes, and only then", async () => {
    const a1 = await synth({ environments: { dev: variants["rds, domain"].env } });
    const dir = a1.outdir;
    const a2 = await synth({
      environments: { dev: variants["rds, domain"].env },
      release: fakeRelease(dir, "0123456789ab"),
    });
    const b = await synth({
      environments: { dev: variants["rds, domain"].env },
      release: fakeRelease(dir, "fedcba987654"),
    });
    const deploy = (r: SynthResult) => resources(r.stacks["todo-api-dev"]!, "null_resource")[0]!;

    // Release, instance (id and type), host settings and the database URL (a hash computed by Terraform): test/infra/deploy-trigger.test.ts.
    expect(Object.keys(deploy(a1).triggers).sort()).toEqual([
      "database_url_sha256",
      "host_settings_sha256",
      "instance_id",
      "instance_type",
      "release_hash",
    ]);
    expect(deploy(a1).triggers.instance_id).toMatch(/^\$\{volcengine_ecs_instance\.[\w-]+\.id\}$/);
    // Same release: identical triggers (nothing to redeploy).
    expect(deploy(a2).triggers).toEqual(deploy(a1).triggers);
    // New release: only the hash trigger differs.
    expect(deploy(b).triggers).toEqual({ ...deploy(a1).triggers, release_hash: "fedcba987654" });
    // And nothing outside the deployment resource changes: the server is not touched.
    const withoutDeploy = (r: SynthResult) => {
      const tf = structuredClone(r.stacks["todo-api-dev"]!);
      delete tf.resource.null_resource;
      return tf;
    };
    expect(withoutDeploy(b)).toEqual(withoutDeploy(a1));
  });

  it("ships the tarball and runs the server's release command over SSH with a key read at plan time", async () => {
    const r = await synth({ environments: { dev: baseEnvironment() } });
    const deploy = resources(r.stacks["todo-api-dev"]!, "null_resource")[0]!;
    expect(deploy.connection).toMatchObject({
      type: "ssh",
      user: "root",
      host: r.stacks["todo-api-dev"]!.output.public_ip.value,
    });
    const tf = r.stacks["todo-api-dev"]!;
    expect(tf.locals[/^\$\{local\.([\w-]+)\}$/.exec(deploy.connection.private_key)![1]!]).toBe(
      '${try(file(pathexpand("~/.ssh/id_ed25519")), "")}',
    );
    expect(deploy.lifecycle.precondition).toContainEqual({
      condition: expect.stringMatching(/^\$\{local\.[\w-]+ != ""\}$/),
      error_message: expect.stringContaining("~/.ssh/id_ed25519"),
    });
    const [upload, converge, secrets, run] = deploy.provisioner;
    expect(Object.keys(secrets)).toEqual(["remote-exec"]);
    // The host settings, then the release's server kit (packages, Node.js, scripts, units, sites, todo-setup).
    expect(converge["remote-exec"].inline).toContain(
      "$SUDO tee /etc/todo-host.conf.new >/dev/null <<'TODO_HOST_SETTINGS'",
    );
    expect(converge["remote-exec"].inline).toContain("$SUDO /var/lib/todo-setup/kit/0123456789ab/server/install");
    expect(upload.file.destination).toBe("/tmp/todo-api-0123456789ab.tar.gz");
    expect(upload.file.source).toMatch(/todo-api-0123456789ab\.tar\.gz$/);
    expect(run["remote-exec"].inline).toContain(
      "$SUDO /usr/local/sbin/todo-release deploy /tmp/todo-api-0123456789ab.tar.gz",
    );
    // Local mode never writes a DATABASE_URL.
    expect(JSON.stringify(secrets)).not.toContain("DATABASE_URL");
    // The uploaded tarball: removed when any script fails, and at the end of the last one; the
    // first one prunes release tarballs that cut-off deploys left, after an hour.
    const onFailure = `trap 'status=$?; if [ "$status" -ne 0 ]; then $SUDO rm -f -- /tmp/todo-api-0123456789ab.tar.gz; fi' EXIT`;
    expect(converge["remote-exec"].inline).toContain(onFailure);
    expect(secrets["remote-exec"].inline).toContain(onFailure);
    expect(converge["remote-exec"].inline).toContain(
      "$SUDO find /tmp -maxdepth 1 -type f -name 'todo-api-*.tar.gz' ! -name 'todo-api-0123456789ab.tar.gz' -mmin +60 -delete",
    );
    expect(run["remote-exec"].inline).toContain("trap '$SUDO rm -f -- /tmp/todo-api-0123456789ab.tar.gz' EXIT");
  });

  it("uses the ssh-agent when no private key path is configured", async () => {
    const env = baseEnvironment();
    const ssh = { ...(env.ssh as object), privateKeyPath: undefined };
    const r = await synth({ environments: { dev: { ...env, ssh } } });
    const deploy = resources(r.stacks["todo-api-dev"]!, "null_resource")[0]!;
    expect(deploy.connection.agent).toBe("true");
    expect(deploy.connection.private_key).toBeUndefined();
    expect(r.stacks["todo-api-dev"]!.output.ssh_command.value).toMatch(/^ssh root@\$\{/);
  });

  it("interpolates only the intended Terraform expressions in provisioner scripts", async () => {
    const r = await synth({ environments: { dev: variants["rds, domain"].env } });
    const deploy = resources(r.stacks["todo-api-dev"]!, "null_resource")[0]!;
    const scripts: string[] = deploy.provisioner.flatMap((p: any) => p["remote-exec"]?.inline ?? []);
    const found = scripts.flatMap((line) =>
      [...line.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!.replace(/_[0-9A-F]{8}\b/g, "_X")),
    );
    expect(found.sort()).toEqual(
      [
        "var.jwt_secret",
        "volcengine_rds_postgresql_account.database_account_X.account_name",
        "urlencode(var.db_password)",
        "local.database_host_X",
        "local.database_port_X",
        "volcengine_rds_postgresql_database.database_X.db_name",
      ].sort(),
    );
    for (const line of scripts) expect(line).not.toContain("%{");
  });
});

describe("environments and image", () => {
  it("synthesizes one independent stack per environment", async () => {
    const r = await synth({
      environments: {
        dev: baseEnvironment(),
        prod: baseEnvironment({
          instanceType: "ecs.g3il.large",
          database: RDS,
          https: HTTPS,
          network: { vpcCidr: "10.20.0.0/16", subnetCidr: "10.20.1.0/24" },
        }),
      },
    });
    expect(Object.keys(r.stacks).sort()).toEqual(["todo-api-dev", "todo-api-prod"]);
    const dev = r.stacks["todo-api-dev"]!;
    const prod = r.stacks["todo-api-prod"]!;
    expect(resources(dev, "volcengine_ecs_key_pair")[0]!.key_pair_name).toBe("todo-api-dev-key");
    expect(resources(prod, "volcengine_ecs_key_pair")[0]!.key_pair_name).toBe("todo-api-prod-key");
    expect(resources(prod, "volcengine_ecs_instance")[0]!.instance_type).toBe("ecs.g3il.large");
    expect(resources(prod, "volcengine_rds_postgresql_allowlist")[0]!.allow_list).toEqual(["10.20.1.0/24"]);
    expect(resources(dev, "volcengine_rds_postgresql_instance")).toHaveLength(0);
    expect(dev.terraform.backend.local.path).toMatch(/terraform\.todo-api-dev\.tfstate$/);
    expect(prod.terraform.backend.local.path).toMatch(/terraform\.todo-api-prod\.tfstate$/);
    for (const tf of [dev, prod]) expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
  });

  it("looks the image up by platform/version, guarded by a precondition, or uses an explicit id", async () => {
    const looked = (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;
    const [lookup] = Object.values(looked.data.volcengine_images) as any[];
    expect(lookup).toMatchObject({
      platform: "Ubuntu",
      visibility: "public",
      is_support_cloud_init: true,
      instance_type_id: "ecs.c3i.large",
    });
    const instance = resources(looked, "volcengine_ecs_instance")[0]!;
    expect(instance.image_id).toMatch(/^\$\{try\(local\.[\w-]+\[0\], ""\)\}$/);
    expect(instance.lifecycle.precondition[0].condition).toMatch(/^\$\{length\(local\.[\w-]+\) > 0\}$/);
    expect(instance.lifecycle.ignore_changes).toEqual(["image_id", "user_data", "eip_address"]);

    const explicit = (await synth({ environments: { dev: baseEnvironment({ image: { id: "image-abc123" } }) } }))
      .stacks["todo-api-dev"]!;
    expect(explicit.data).toBeUndefined();
    expect(resources(explicit, "volcengine_ecs_instance")[0]!.image_id).toBe("image-abc123");
  });

  it("can keep state in Volcengine TOS through the S3 backend", async () => {
    const r = await synth({
      environments: { prod: baseEnvironment() },
      state: {
        backend: "s3",
        bucket: "my-tf-state",
        region: "cn-beijing",
        endpoint: "https://tos-s3-cn-beijing.volces.com",
      },
    });
    const backend = r.stacks["todo-api-prod"]!.terraform.backend;
    expect(backend.local).toBeUndefined();
    expect(backend.s3).toMatchObject({
      bucket: "my-tf-state",
      key: "todo-api/prod/terraform.tfstate",
      region: "cn-beijing",
      endpoints: { s3: "https://tos-s3-cn-beijing.volces.com" },
      skip_credentials_validation: true,
      skip_region_validation: true,
      skip_requesting_account_id: true,
    });
    expect(r.text).not.toMatch(/access_key|secret_key/);
  });
});

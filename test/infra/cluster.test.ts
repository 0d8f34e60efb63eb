import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCloudInit, serverFiles } from "../../cloud-init/render.js";
import { optionsFromHostConf } from "../../cloud-init/kit.js";
import { decodeCloudConfig } from "../cloud-init/helpers.js";
import { CLUSTER_NEEDS_RDS } from "../../infra/config/cluster.js";
import { StackConfigError, parseStackConfig } from "../../infra/config/load.js";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import {
  RDS,
  SENTINELS,
  baseEnvironment,
  cleanupSynthDirs,
  fakeRelease,
  projectSchemas,
  resources,
  synth,
  type SynthResult,
  type TfJson,
} from "./synth-helpers.js";
import { requireTool, terraformCommand } from "../support/tools.js";

const CERT = {
  domain: "api.example.com",
  certificatePath: "~/certs/api.example.com/fullchain.pem",
  privateKeyPath: "~/certs/api.example.com/privkey.pem",
};
const ADMIN = ["198.51.100.7/32", "203.0.113.0/28"];

const variants = {
  "2 servers, no certificate": {
    env: baseEnvironment({ topology: "cluster", database: RDS }),
    servers: 2,
    certificate: false,
  },
  "3 servers, certificate": {
    env: baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 3, certificate: CERT } }),
    servers: 3,
    certificate: true,
  },
} as const;

const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [k, v] of Object.entries(SENTINELS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  cleanupSynthDirs();
});

/** "${volcengine_x.name.attr}" → "volcengine_x.name" */
const ref = (expr: string) => /^\$\{([\w-]+\.[\w-]+)\.[\w.]+\}$/.exec(expr)?.[1];
const entries = (tf: TfJson, type: string): [string, any][] =>
  Object.entries(tf.resource?.[type] ?? {}).map(([name, r]) => [`${type}.${name}`, r]);

function appServers(tf: TfJson) {
  return entries(tf, "volcengine_ecs_instance").filter(([, r]) => r.instance_name.includes("-app-"));
}
function bastionInstance(tf: TfJson) {
  const found = entries(tf, "volcengine_ecs_instance").filter(([, r]) => r.instance_name.endsWith("-bastion"));
  expect(found).toHaveLength(1);
  return found[0]!;
}
function groupByName(tf: TfJson, suffix: string) {
  const found = entries(tf, "volcengine_security_group").filter(([, r]) => r.security_group_name.endsWith(suffix));
  expect(found).toHaveLength(1);
  return found[0]![0];
}
function subnetCidr(tf: TfJson, nameSuffix: string): string {
  return resources(tf, "volcengine_subnet").find((s) => s.subnet_name.endsWith(nameSuffix))!.cidr_block;
}
function ingressOf(tf: TfJson, group: string) {
  return resources(tf, "volcengine_security_group_rule")
    .filter((r) => r.direction === "ingress" && ref(r.security_group_id) === group)
    .map((r) => `${r.protocol}/${r.port_start}-${r.port_end} from ${r.cidr_ip ?? `group ${ref(r.source_group_id)}`}`)
    .sort();
}

describe.each(Object.entries(variants))("cluster topology, %s", (_name, variant) => {
  let result: SynthResult;
  let tf: TfJson;
  beforeAll(async () => {
    result = await synth({ environments: { prod: variant.env } });
    tf = result.stacks["todo-api-prod"]!;
  });

  it("passes the provider schema check", () => {
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
  });

  it("creates the app servers without any public address, spread over two zones and subnets", () => {
    const servers = appServers(tf);
    expect(servers).toHaveLength(variant.servers);
    const serverIds = new Set(servers.map(([id]) => id));
    // Elastic IPs are attached to the bastion and the NAT gateway only, never to an app server.
    const targets = resources(tf, "volcengine_eip_associate").map((a) => ({
      type: a.instance_type,
      target: ref(a.instance_id),
    }));
    expect(targets.sort((a, b) => a.type.localeCompare(b.type))).toEqual([
      { type: "EcsInstance", target: bastionInstance(tf)[0] },
      { type: "Nat", target: entries(tf, "volcengine_nat_gateway")[0]![0] },
    ]);
    for (const t of targets) expect(serverIds.has(t.target!)).toBe(false);
    expect(resources(tf, "volcengine_eip_address")).toHaveLength(2);
    // Zones alternate a, b, a, ... and each server sits in its zone's app subnet.
    expect(servers.map(([, r]) => r.zone_id)).toEqual(
      Array.from({ length: variant.servers }, (_, i) => (i % 2 ? "cn-beijing-b" : "cn-beijing-a")),
    );
    const subnetZone = Object.fromEntries(entries(tf, "volcengine_subnet").map(([id, s]) => [id, s.zone_id]));
    for (const [, r] of servers) {
      expect(subnetZone[ref(r.subnet_id)!]).toBe(r.zone_id);
      expect(r.security_group_ids.map(ref)).toEqual([groupByName(tf, "-app-sg")]);
      expect(r.instance_charge_type).toBe("PostPaid");
      // cloud-init downloads through the NAT gateway, so the servers wait for it.
      expect(r.depends_on.filter((d: string) => d.startsWith("volcengine_snat_entry."))).toHaveLength(2);
    }
  });

  it("gives every server the cloud-config for RDS without local PostgreSQL or Certbot; only the first exports backups", () => {
    const bucket = resources(tf, "volcengine_tos_bucket")[0]!.bucket_name as string;
    const others = renderCloudInit({ environment: "prod", databaseMode: "rds" });
    const first = renderCloudInit({
      environment: "prod",
      databaseMode: "rds",
      offsiteBackup: {
        bucket,
        region: "cn-beijing",
        endpoint: "https://tos-s3-cn-beijing.volces.com",
        roleName: "todo-api-prod-backup",
      },
    });
    const userData = appServers(tf).map(([, r]) => Buffer.from(r.user_data, "base64").toString("utf8"));
    expect(userData[0]).toBe(first);
    for (const text of userData.slice(1)) expect(text).toBe(others);
    for (const text of [first, others]) expect(text).toContain("DB_MODE='rds'");
    // the first server's host settings name the bucket and role; the release's kit then installs its export timer
    const conf = decodeCloudConfig(first).files.get("/etc/todo-host.conf")!.content;
    expect(conf).toContain(`OFFSITE_BUCKET='${bucket}'`);
    expect(conf).toContain("OFFSITE_ROLE='todo-api-prod-backup'");
    const files = serverFiles(optionsFromHostConf(conf));
    expect(files.some((f) => f.path === "/etc/systemd/system/todo-api-backup.timer")).toBe(true);
    expect(files.find((f) => f.path === "/etc/systemd/system/todo-api-backup.service")!.content).toContain(
      "EnvironmentFile=/etc/todo-api/env",
    );
    const otherFiles = serverFiles(
      optionsFromHostConf(decodeCloudConfig(others).files.get("/etc/todo-host.conf")!.content),
    );
    expect(otherFiles.some((f) => f.path === "/etc/systemd/system/todo-api-backup.timer")).toBe(false);
    expect(bastionInstance(tf)[1].user_data).toBeUndefined();
  });

  it("keeps the daily RDS export in a private bucket whose role only the first server holds", () => {
    const buckets = resources(tf, "volcengine_tos_bucket");
    expect(buckets).toHaveLength(1);
    const bucketName = buckets[0]!.bucket_name as string;
    expect(buckets[0]!.public_acl).toBe("private");
    expect(bucketName).toMatch(/^todo-api-prod-backups-[0-9a-f]{8}$/);
    expect(resources(tf, "volcengine_tos_bucket_lifecycle")[0]!.rules[0]).toMatchObject({
      prefix: "postgres/",
      expiration: { days: 30 },
    });
    const policy = JSON.parse(resources(tf, "volcengine_iam_policy")[0]!.policy_document) as {
      Statement: { Effect: string; Action: string[]; Resource: string[] }[];
    };
    expect(
      policy.Statement.filter((st) => st.Effect === "Allow")
        .flatMap((st) => st.Action)
        .sort(),
    ).toEqual(["tos:GetObject", "tos:ListBucket", "tos:PutObject"]);
    for (const resource of policy.Statement.flatMap((st) => st.Resource)) {
      expect(resource === `trn:tos:::${bucketName}` || resource.startsWith(`trn:tos:::${bucketName}/`), resource).toBe(
        true,
      );
    }
    const attachments = resources(tf, "volcengine_iam_role_attachment");
    expect(attachments).toHaveLength(1);
    expect(ref(attachments[0]!.instance_id)).toBe(appServers(tf)[0]![0]);
    expect(attachments[0]!.iam_role_name).toBe(`\${${entries(tf, "volcengine_iam_role")[0]![0]}.role_name}`);
    expect(tf.output.backup_bucket.value).toBe(bucketName);
  });

  it("puts every app server in the load balancer's server group on port 80", () => {
    const groups = entries(tf, "volcengine_server_group");
    expect(groups).toHaveLength(1);
    const members = resources(tf, "volcengine_server_group_server");
    expect(members.map((m) => ref(m.instance_id)).sort()).toEqual(
      appServers(tf)
        .map(([id]) => id)
        .sort(),
    );
    for (const m of members) {
      expect(m).toMatchObject({ type: "ecs", port: 80 });
      expect(ref(m.server_group_id)).toBe(groups[0]![0]);
    }
  });

  it("is a public, pay-as-you-go CLB with its EIP billing, in its own subnet", () => {
    const clb = resources(tf, "volcengine_clb")[0]!;
    expect(clb).toMatchObject({
      type: "public",
      load_balancer_spec: "small_1",
      load_balancer_billing_type: "PostPaid",
      eip_billing_config: { eip_billing_type: "PostPaidByTraffic", bandwidth: 5, isp: "BGP" },
    });
    const subnets = Object.fromEntries(entries(tf, "volcengine_subnet"));
    expect(subnets[ref(clb.subnet_id)!].subnet_name).toBe("todo-api-prod-lb");
    expect(subnets[ref(clb.subnet_id)!].zone_id).toBe("cn-beijing-a");
  });

  it("listens on 80 (and 443 with the certificate), health-checking /readyz", () => {
    const listeners = resources(tf, "volcengine_listener");
    expect(listeners.map((l) => `${l.protocol}:${l.port}`).sort()).toEqual(
      variant.certificate ? ["HTTP:80", "HTTPS:443"] : ["HTTP:80"],
    );
    const group = entries(tf, "volcengine_server_group")[0]![0];
    for (const l of listeners) {
      expect(ref(l.server_group_id)).toBe(group);
      expect(l.health_check).toMatchObject({ enabled: "on", method: "GET", uri: "/readyz", http_code: "http_2xx" });
    }
    const certs = entries(tf, "volcengine_certificate");
    if (!variant.certificate) {
      expect(certs).toHaveLength(0);
      return;
    }
    expect(certs).toHaveLength(1);
    const https = listeners.find((l) => l.protocol === "HTTPS")!;
    expect(https).toMatchObject({ certificate_source: "clb", security_policy_id: "tls_cipher_policy_1_2" });
    expect(ref(https.certificate_id)).toBe(certs[0]![0]);
    // The PEM files are read by Terraform at plan time: only their paths are in the JSON, read
    // through locals that tolerate a missing file (destroy), with preconditions for deploys.
    const local = (expr: string) => tf.locals[/^\$\{local\.([\w-]+)\}$/.exec(expr)![1]!];
    expect(local(certs[0]![1].public_key)).toBe(`\${try(file(pathexpand("${CERT.certificatePath}")), "")}`);
    expect(local(certs[0]![1].private_key)).toBe(`\${sensitive(try(file(pathexpand("${CERT.privateKeyPath}")), ""))}`);
    expect(certs[0]![1].lifecycle.precondition.map((p: any) => p.error_message)).toEqual([
      expect.stringContaining(CERT.certificatePath),
      expect.stringContaining(CERT.privateKeyPath),
    ]);
    expect(result.text).not.toContain("BEGIN");
  });

  it("opens HTTP on the app servers only to the CLB's layer-7 source range and SSH only to the bastion", () => {
    const app = groupByName(tf, "-app-sg");
    const bastion = groupByName(tf, "-bastion-sg");
    expect(ingressOf(tf, app)).toEqual([`tcp/22-22 from group ${bastion}`, "tcp/80-80 from 100.64.0.0/10"].sort());
    expect(ingressOf(tf, bastion)).toEqual(ADMIN.map((c) => `tcp/22-22 from ${c}`).sort());
    const rules = resources(tf, "volcengine_security_group_rule");
    expect(rules.filter((r) => r.direction === "ingress" && r.cidr_ip === "0.0.0.0/0")).toEqual([]);
    expect(
      rules.some((r) => r.direction === "ingress" && Number(r.port_start) <= 5432 && Number(r.port_end) >= 5432),
    ).toBe(false);
    expect(rules.filter((r) => r.direction === "egress").map((r) => `${r.protocol} ${r.cidr_ip}`)).toEqual([
      "all 0.0.0.0/0",
      "all 0.0.0.0/0",
    ]);
    // The bastion is the only instance in the bastion group.
    expect(bastionInstance(tf)[1].security_group_ids.map(ref)).toEqual([bastion]);
  });

  it("routes the private subnets through a pay-as-you-go NAT gateway with its own EIP", () => {
    const [nat] = resources(tf, "volcengine_nat_gateway");
    expect(nat).toMatchObject({ billing_type: "PostPaid", spec: "Small" });
    const snat = resources(tf, "volcengine_snat_entry");
    const appSubnets = entries(tf, "volcengine_subnet")
      .filter(([, s]) => /-subnet(-2)?$/.test(s.subnet_name))
      .map(([id]) => id);
    expect(snat.map((s) => ref(s.subnet_id)).sort()).toEqual(appSubnets.sort());
    const natEip = entries(tf, "volcengine_eip_address").find(([, e]) => e.name.endsWith("-nat-eip"))![0];
    for (const s of snat) {
      expect(ref(s.eip_id)).toBe(natEip);
      expect(s.depends_on[0]).toMatch(/^volcengine_eip_associate\./);
    }
  });

  it("allows only the app subnets (both zones) into RDS, with the standby in the second zone", () => {
    const allowlist = resources(tf, "volcengine_rds_postgresql_allowlist")[0]!;
    expect(allowlist.allow_list).toEqual([subnetCidr(tf, "-subnet"), subnetCidr(tf, "-subnet-2")]);
    expect(allowlist.allow_list).toEqual(["172.16.1.0/24", "172.16.2.0/24"]);
    expect(resources(tf, "volcengine_rds_postgresql_instance")[0]).toMatchObject({
      primary_zone_id: "cn-beijing-a",
      secondary_zone_id: "cn-beijing-b",
    });
  });

  it("rolls the release over the servers one at a time, through the bastion", () => {
    const steps = entries(tf, "null_resource");
    expect(steps).toHaveLength(variant.servers);
    const servers = appServers(tf).map(([id]) => id);
    const bastionIp = tf.output.bastion_ssh_command.value.split("@")[1];
    steps.forEach(([id, step], i) => {
      expect(step.connection).toMatchObject({
        type: "ssh",
        user: "root",
        host: `\${${servers[i]}.primary_ip_address}`,
        bastion_host: bastionIp,
        bastion_user: "root",
      });
      expect(tf.locals[/^\$\{local\.([\w-]+)\}$/.exec(step.connection.bastion_private_key)![1]!]).toBe(
        '${try(file(pathexpand("~/.ssh/id_ed25519")), "")}',
      );
      expect(step.connection.private_key).toBe(step.connection.bastion_private_key);
      expect(step.triggers).toMatchObject({ release_hash: "0123456789ab", instance_id: `\${${servers[i]}.id}` });
      expect(Object.keys(step.triggers).sort()).toEqual([
        "database_url_sha256",
        "env_settings_sha256",
        "host_settings_sha256",
        "instance_id",
        "instance_type",
        "release_hash",
      ]);
      const previous = steps[i - 1]?.[0];
      const chained = step.depends_on.filter((d: string) => d.startsWith("null_resource."));
      expect(chained).toEqual(previous ? [previous] : []);
      expect(id).toContain(`server-${i + 1}`);
      const [upload, , secrets, run] = step.provisioner;
      expect(secrets["remote-exec"].inline).toContain(
        "printf '%s' '127.0.0.1,100.64.0.0/10' | $SUDO /usr/local/sbin/todo-release set-env TRUSTED_PROXIES",
      );
      expect(JSON.stringify(secrets)).toContain("set-env DATABASE_URL");
      expect(upload.file.destination).toBe("/tmp/todo-api-0123456789ab.tar.gz");
      expect(run["remote-exec"].inline).toContain(
        "$SUDO /usr/local/sbin/todo-release deploy /tmp/todo-api-0123456789ab.tar.gz",
      );
      // Only the intended Terraform expressions appear in the scripts.
      const exprs = step.provisioner
        .flatMap((p: any) => p["remote-exec"]?.inline ?? [])
        .flatMap((line: string) =>
          [...line.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!.replace(/_[0-9A-F]{8}\b/g, "_X")),
        );
      for (const line of step.provisioner.flatMap((p: any) => p["remote-exec"]?.inline ?? []))
        expect(line).not.toContain("%{");
      expect(exprs.sort()).toEqual(
        [
          "var.jwt_secret",
          "volcengine_rds_postgresql_account.database_account_X.account_name",
          "urlencode(var.db_password)",
          "local.database_host_X",
          "local.database_port_X",
          "volcengine_rds_postgresql_database.database_X.db_name",
        ].sort(),
      );
    });
  });

  it("requires a JWT secret shared by every server to deploy (not to destroy), and never holds a secret value", () => {
    expect(tf.variable.jwt_secret).toMatchObject({ sensitive: true, nullable: false, type: "string", default: "" });
    expect(tf.variable.db_password.default).toBe("");
    for (const step of resources(tf, "null_resource")) {
      expect(step.lifecycle.precondition).toContainEqual({
        condition: '${var.jwt_secret != ""}',
        error_message: expect.stringContaining("TF_VAR_jwt_secret"),
      });
    }
    for (const secret of Object.values(SENTINELS)) expect(result.text).not.toContain(secret);
    expect(result.text).not.toMatch(/"(access_key|secret_key|session_token)"/);
    expect(result.text).not.toContain("PrePaid");
  });

  it("has the outputs a user needs: load balancer, API and docs URLs, bastion and jump commands", () => {
    const o = tf.output;
    expect(Object.keys(o).sort()).toEqual(
      [
        "api_url",
        "backup_bucket",
        "bastion_ssh_command",
        "database_endpoint",
        "docs_url",
        "keep_backups_command",
        "load_balancer_ip",
        "nat_public_ip",
        "server_private_ips",
        "server_ssh_command",
      ].sort(),
    );
    expect(o.load_balancer_ip.value).toMatch(/^\$\{volcengine_clb\.[\w-]+\.eip_address\}$/);
    expect(o.api_url.value).toBe(
      variant.certificate ? "https://api.example.com" : `http://${o.load_balancer_ip.value}`,
    );
    expect(o.docs_url.value).toBe(`${o.api_url.value}/docs`);
    const bastionIp = `\${${entries(tf, "volcengine_eip_address").find(([, e]) => e.name.endsWith("-bastion-eip"))![0]}.eip_address}`;
    expect(o.bastion_ssh_command.value).toBe(`ssh -i ~/.ssh/id_ed25519 root@${bastionIp}`);
    // -i does not apply to a -J jump host (ssh(1)): the key is given to the bastion hop explicitly.
    expect(o.server_ssh_command.value).toBe(
      `ssh -i ~/.ssh/id_ed25519 -o ProxyCommand="ssh -i ~/.ssh/id_ed25519 -W %h:%p root@${bastionIp}" root@\${${appServers(tf)[0]![0]}.primary_ip_address}`,
    );
    expect(o.server_private_ips.value).toHaveLength(variant.servers);
  });
});

describe("cluster configuration", () => {
  const parse = (env: Record<string, unknown>) =>
    parseStackConfig({ environments: { prod: env } }, { source: "/somewhere/stack.config.json" });
  const problems = (env: Record<string, unknown>) => {
    try {
      parse(env);
    } catch (err) {
      if (err instanceof StackConfigError) return err.problems;
      throw err;
    }
    throw new Error("expected a StackConfigError");
  };

  it("refuses a cluster without RDS, with the documented message", () => {
    expect(problems(baseEnvironment({ topology: "cluster" }))).toEqual([
      `environments.prod.database.mode: ${CLUSTER_NEEDS_RDS}`,
      'environments.prod.cluster.secondZone: topology "cluster" spreads the servers over two zones: set database.secondaryZone (or cluster.secondZone) to a zone other than "cn-beijing-a"',
    ]);
    expect(CLUSTER_NEEDS_RDS).toContain('topology "cluster" requires database mode "rds"');
  });

  it("reports cluster problems together with unrelated ones, in one message", () => {
    expect(problems(baseEnvironment({ topology: "cluster", instanceType: "c3i.large" }))).toEqual([
      'environments.prod.instanceType: must be an ECS instance type such as "ecs.c3i.large"',
      `environments.prod.database.mode: ${CLUSTER_NEEDS_RDS}`,
      'environments.prod.cluster.secondZone: topology "cluster" spreads the servers over two zones: set database.secondaryZone (or cluster.secondZone) to a zone other than "cn-beijing-a"',
    ]);
  });

  it("places the servers in cluster.secondZone while RDS keeps database.secondaryZone", async () => {
    const tf = (
      await synth({
        environments: {
          prod: baseEnvironment({ topology: "cluster", database: RDS, cluster: { secondZone: "cn-beijing-c" } }),
        },
      })
    ).stacks["todo-api-prod"]!;
    expect(appServers(tf).map(([, r]) => r.zone_id)).toEqual(["cn-beijing-a", "cn-beijing-c"]);
    expect(resources(tf, "volcengine_rds_postgresql_instance")[0]).toMatchObject({
      primary_zone_id: "cn-beijing-a",
      secondary_zone_id: "cn-beijing-b",
    });
    expect(formatProblems(checkTerraformJson(tf, projectSchemas()))).toBe("");
  });

  it("refuses Certbot settings, a single zone, fewer than two servers and subnets outside the VPC", () => {
    expect(
      problems(
        baseEnvironment({
          topology: "cluster",
          database: RDS,
          https: { domain: "api.example.com", acmeEmail: "ops@example.com" },
        }),
      ),
    ).toEqual([
      'environments.prod.https: sets up Certbot on a single server and does not apply to topology "cluster", where TLS terminates at the load balancer: remove it and set cluster.certificate { domain, certificatePath, privateKeyPath } instead (see docs/scale-out.md)',
    ]);
    expect(
      problems(baseEnvironment({ topology: "cluster", database: { ...RDS, secondaryZone: "cn-beijing-a" } })),
    ).toEqual([
      'environments.prod.cluster.secondZone: topology "cluster" spreads the servers over two zones: set database.secondaryZone (or cluster.secondZone) to a zone other than "cn-beijing-a"',
    ]);
    expect(problems(baseEnvironment({ topology: "cluster", database: RDS, cluster: { servers: 1 } }))).toEqual([
      "environments.prod.cluster.servers: a cluster needs at least 2 servers",
    ]);
    expect(
      problems(
        baseEnvironment({
          topology: "cluster",
          database: RDS,
          network: { vpcCidr: "10.0.0.0/23", subnetCidr: "10.0.0.0/24", loadBalancerSubnetCidr: "10.0.0.128/25" },
        }),
      ),
    ).toEqual([
      "environments.prod.network.loadBalancerSubnetCidr: 10.0.0.128/25 overlaps network.subnetCidr (10.0.0.0/24); subnets must not overlap",
    ]);
    expect(
      problems(
        baseEnvironment({
          topology: "cluster",
          database: RDS,
          network: { vpcCidr: "10.0.0.0/24", subnetCidr: "10.0.0.0/25" },
        }),
      ),
    ).toEqual([
      "environments.prod.network.loadBalancerSubnetCidr: 10.0.1.0/25 is not inside the VPC 10.0.0.0/24; set network.loadBalancerSubnetCidr explicitly",
    ]);
    expect(problems(baseEnvironment({ topology: "mesh" }))[0]).toMatch(/^environments\.prod\.topology: /);
    // A setting the cluster checks read is itself invalid: only its own message, no follow-up noise.
    expect(
      problems(baseEnvironment({ topology: "cluster", database: RDS, network: { subnetCidr: "172.16.1.0" } })),
    ).toEqual([
      'environments.prod.network.subnetCidr: must be an IPv4 CIDR such as "203.0.113.7/32" (your public IP followed by /32)',
    ]);
  });

  it("derives the zones and subnets, takes cluster.secondZone over the database's, and resolves certificate paths", () => {
    const [env] = parse(
      baseEnvironment({
        topology: "cluster",
        database: RDS,
        network: { vpcCidr: "10.20.0.0/16", subnetCidr: "10.20.8.0/22" },
        cluster: {
          secondZone: "cn-beijing-c",
          certificate: { domain: "API.example.com", certificatePath: "certs/full.pem", privateKeyPath: "~/k.pem" },
        },
      }),
    ).environments;
    expect(env!.cluster).toMatchObject({
      servers: 2,
      secondZone: "cn-beijing-c",
      loadBalancer: { spec: "small_1", eip: { billingType: "PostPaidByTraffic", bandwidthMbps: 5, isp: "BGP" } },
      natGateway: { spec: "Small" },
      certificate: {
        domain: "api.example.com",
        certificatePath: "/somewhere/certs/full.pem",
        privateKeyPath: "~/k.pem",
      },
    });
  });

  it("keeps every existing (single) configuration as it was: explicit single equals the default, cluster settings are ignored", async () => {
    const dir = (await synth({ environments: { dev: baseEnvironment() } })).outdir;
    const release = fakeRelease(dir, "0123456789ab");
    const plain = await synth({ environments: { dev: baseEnvironment({ database: RDS }) }, release });
    const explicit = await synth({
      environments: { dev: baseEnvironment({ database: RDS, topology: "single", cluster: { servers: 4 } }) },
      release,
    });
    expect(explicit.stacks).toEqual(plain.stacks);
    const tf = plain.stacks["todo-api-dev"]!;
    for (const type of ["volcengine_clb", "volcengine_nat_gateway", "volcengine_listener", "volcengine_certificate"])
      expect(resources(tf, type)).toHaveLength(0);
  });

  it("switching between single (rds) and cluster keeps the VPC, the first subnet, the RDS instance and the backup bucket", async () => {
    const single = (await synth({ environments: { prod: baseEnvironment({ database: RDS }) } })).stacks[
      "todo-api-prod"
    ]!;
    const cluster = (await synth({ environments: { prod: baseEnvironment({ database: RDS, topology: "cluster" }) } }))
      .stacks["todo-api-prod"]!;
    const strip = (r: Record<string, any>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== "//"));
    // Same Terraform addresses and arguments: a switch neither replaces nor loses them.
    expect(strip(cluster.resource.volcengine_vpc)).toEqual(strip(single.resource.volcengine_vpc));
    const [singleSubnet] = Object.keys(single.resource.volcengine_subnet);
    expect(cluster.resource.volcengine_subnet[singleSubnet!]).toEqual(single.resource.volcengine_subnet[singleSubnet!]);
    expect(cluster.resource.volcengine_rds_postgresql_instance).toEqual(
      single.resource.volcengine_rds_postgresql_instance,
    );
    expect(Object.keys(cluster.resource.volcengine_rds_postgresql_account)).toEqual(
      Object.keys(single.resource.volcengine_rds_postgresql_account),
    );
    expect(Object.keys(cluster.resource.volcengine_rds_postgresql_database)).toEqual(
      Object.keys(single.resource.volcengine_rds_postgresql_database),
    );
    // The backups survive a switch: same bucket, lifecycle, role and policy; only the attachment moves.
    for (const type of [
      "volcengine_tos_bucket",
      "volcengine_tos_bucket_lifecycle",
      "volcengine_iam_role",
      "volcengine_iam_policy",
    ]) {
      expect(strip(cluster.resource[type]), type).toEqual(strip(single.resource[type]));
    }
    // Resources that do change must not collide by name while both exist during the switch.
    const names = (tf: TfJson) => resources(tf, "volcengine_ecs_key_pair").map((k) => k.key_pair_name);
    expect(names(cluster)).not.toEqual(expect.arrayContaining(names(single)));
  });

  it("uses the ssh-agent for the bastion hop too when no private key path is configured", async () => {
    const env = variants["2 servers, no certificate"].env;
    const ssh = { ...(env.ssh as object), privateKeyPath: undefined };
    const tf = (await synth({ environments: { prod: { ...env, ssh } } })).stacks["todo-api-prod"]!;
    for (const step of resources(tf, "null_resource")) {
      expect(step.connection.agent).toBe("true");
      expect(step.connection.private_key).toBeUndefined();
      expect(step.connection.bastion_private_key).toBeUndefined();
      expect(step.connection.bastion_host).toMatch(/^\$\{volcengine_eip_address\.[\w-]+\.eip_address\}$/);
    }
    expect(tf.output.bastion_ssh_command.value).toMatch(/^ssh root@\$\{/);
    expect(tf.output.server_ssh_command.value).toMatch(/^ssh -J root@\$\{/);
  });

  it("a new release changes only the rollout steps, never the servers or the load balancer", async () => {
    const env = variants["3 servers, certificate"].env;
    const a = await synth({ environments: { prod: env } });
    const b = await synth({ environments: { prod: env }, release: fakeRelease(a.outdir, "fedcba987654") });
    const strip = (r: SynthResult) => {
      const tf = structuredClone(r.stacks["todo-api-prod"]!);
      delete tf.resource.null_resource;
      return tf;
    };
    expect(strip(b)).toEqual(strip(a));
    const hashes = resources(b.stacks["todo-api-prod"]!, "null_resource").map((s) => s.triggers.release_hash);
    expect(hashes).toEqual(["fedcba987654", "fedcba987654", "fedcba987654"]);
  });
});

const hasTerraform = requireTool("terraform").available;

describe.skipIf(!hasTerraform)("cluster jwt_secret validation (terraform CLI, offline)", () => {
  it("refuses a short secret, stops a deploy without one, and lets destroy run without one", async () => {
    const tf = (await synth({ environments: { prod: variants["2 servers, no certificate"].env } })).stacks[
      "todo-api-prod"
    ]!;
    const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-jwt-"));
    try {
      // The variable and the deploy step's jwt precondition on a provider-free stand-in resource.
      const step = resources(tf, "null_resource")[0]!;
      const jwtCheck = step.lifecycle.precondition.filter((p: any) => p.condition.includes("var.jwt_secret"));
      expect(jwtCheck).toHaveLength(1);
      writeFileSync(
        path.join(dir, "main.tf.json"),
        JSON.stringify({
          variable: { jwt_secret: tf.variable.jwt_secret },
          resource: { terraform_data: { deploy: { input: "release", lifecycle: { precondition: jwtCheck } } } },
        }),
      );
      // No TF_VAR_* from this process (the tests set sentinel values there).
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("TF_VAR_")));
      const run = (args: string[]) =>
        spawnSync(terraformCommand(), args, {
          cwd: dir,
          encoding: "utf8",
          env: { ...env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
          timeout: 60_000,
        });
      expect(run(["init", "-input=false"]).status).toBe(0);
      const plan = (value: string) => run(["plan", "-input=false", "-no-color", "-var", `jwt_secret=${value}`]);
      const empty = run(["plan", "-input=false", "-no-color"]);
      expect(empty.status).not.toBe(0);
      expect(empty.stderr).toContain("Set TF_VAR_jwt_secret");
      const short = plan("short");
      expect(short.status).not.toBe(0);
      expect(short.stderr).toContain("all servers share it");
      const secret = `${"A".repeat(40)}+/=_.-`;
      expect(run(["apply", "-auto-approve", "-input=false", "-var", `jwt_secret=${secret}`]).status).toBe(0);
      // Destroy from another computer: no TF_VAR_jwt_secret at all.
      const destroy = run(["destroy", "-auto-approve", "-input=false", "-no-color"]);
      expect(destroy.status, destroy.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

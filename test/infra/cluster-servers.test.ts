/**
 * The cluster topology's servers, network, database, backups, rollout and outputs, for each
 * variant (the load balancer: cluster-load-balancer.test.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderCloudInit, serverFiles } from "../../cloud-init/render.js";
import { optionsFromHostConf } from "../../cloud-init/host-conf.js";
import { decodeCloudConfig } from "../cloud-init/helpers.js";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import {
  SENTINELS,
  projectSchemas,
  resources,
  synth,
  type SynthResult,
  type TfJson,
  useSentinelEnvironment,
} from "./synth-helpers.js";
import {
  ADMIN,
  appServers,
  bastionInstance,
  entries,
  groupByName,
  ref,
  subnetCidr,
  variants,
} from "./cluster-helpers.js";

useSentinelEnvironment();

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
    // The admin console's networks are the SSH admins' by default (docs/admin.md).
    const others = renderCloudInit({ environment: "prod", databaseMode: "rds", adminConsoleCidrs: ADMIN });
    const first = renderCloudInit({
      environment: "prod",
      databaseMode: "rds",
      adminConsoleCidrs: ADMIN,
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

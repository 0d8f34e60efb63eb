import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cleanup } from "../../harness/rehearse/cleanup.js";
import { LoadBalancer, type ListenerSpec } from "../../harness/rehearse/cluster/load-balancer.js";
import { synthCluster, type SynthesizedCluster } from "../../harness/rehearse/cluster/stack.js";
import { deployConfiguration, type DeployWorld } from "../../harness/rehearse/cluster/terraform-deploy.js";
import { requireTool, terraformCommand } from "../support/tools.js";

// The parts of the cluster rehearsal that need neither root nor containers: what it reads from the
// synthesized cluster stack, the Terraform configuration of the deploy step it applies, and the
// HAProxy configuration it derives from the listener. The whole runs in `npm run rehearse`.

const MIRROR_NODE = { version: "24.99.1", sha256X64: "ab".repeat(32) };
let dir: string;
let stack: SynthesizedCluster;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cluster-rehearsal-test-"));
  const release = { path: join(dir, "todo-api-0123456789ab.tar.gz"), hash: "0123456789ab" };
  writeFileSync(release.path, "not a real tarball");
  writeFileSync(join(dir, "id_ed25519"), "not a real key\n");
  stack = await synthCluster({
    workDir: dir,
    servers: 3,
    release,
    publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8rBqkH1m2oQpX7m4kV3r8gkJm9u2cC5y0cN8i6bWcd test@example",
    privateKeyPath: join(dir, "id_ed25519"),
    adminCidr: "10.215.8.1/32",
    mirrorUrl: "http://10.215.8.1:4321",
    node: MIRROR_NODE,
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function world(s: SynthesizedCluster): DeployWorld {
  const references: Record<string, string> = {};
  for (const server of s.servers) {
    references[`${server.resource}.primary_ip_address`] = `172.16.9.${10 + server.index}`;
    references[`${server.resource}.id`] = `i-test-${server.index}`;
  }
  const r = s.tf.resource;
  for (const key of Object.keys(r.volcengine_eip_address)) {
    if (key.startsWith("bastion")) references[`volcengine_eip_address.${key}.eip_address`] = "10.215.8.3";
  }
  for (const key of Object.keys(r.volcengine_rds_postgresql_account))
    references[`volcengine_rds_postgresql_account.${key}.account_name`] = "todo_app";
  for (const key of Object.keys(r.volcengine_rds_postgresql_database))
    references[`volcengine_rds_postgresql_database.${key}.db_name`] = "todo";
  const locals: Record<string, string> = {};
  for (const name of Object.keys(s.tf.locals)) {
    if (name.startsWith("database_host_")) locals[name] = "172.16.1.200";
    if (name.startsWith("database_port_")) locals[name] = "5432";
  }
  return { references, locals };
}

describe("the cluster stack as the rehearsal reads it", () => {
  it("finds every server with its subnet (alternating zones), the bastion, the listener and the RDS account", () => {
    expect(stack.servers.map((s) => [s.index, s.subnetCidr])).toEqual([
      [1, "172.16.1.0/24"],
      [2, "172.16.2.0/24"],
      [3, "172.16.1.0/24"],
    ]);
    expect(stack.bastion.userData).toBe("");
    expect(stack.listener).toMatchObject({ port: 80, scheduler: "wlc" });
    expect(stack.listener.healthCheck).toMatchObject({ uri: "/readyz", enabled: "on" });
    expect(stack.groupServers).toHaveLength(3);
    expect(stack.rds.allowList).toEqual(["172.16.1.0/24", "172.16.2.0/24"]);
  });

  it("boots servers from the synthesized user data with the mirror's Node.js in place of the pinned one", () => {
    for (const server of stack.servers) {
      expect(server.userData).toMatch(/^#cloud-config\n/);
      expect(server.userData).toContain(`NODE_VERSION='${MIRROR_NODE.version}'`);
      expect(server.userData).toContain(`NODE_SHA256_X64='${MIRROR_NODE.sha256X64}'`);
      expect(server.userData).toContain("NODE_MIRROR='http://10.215.8.1:4321'");
    }
    // Only the first server exports backups (its user data names the bucket).
    expect(stack.servers.map((s) => s.userData.includes("OFFSITE_BUCKET='todo-api"))).toEqual([true, false, false]);
  });
});

describe("the deploy step as Terraform applies it in the rehearsal", () => {
  it("keeps each server's provisioners, connection through the bastion and order; only references change", () => {
    const config = deployConfiguration(stack.tf, world(stack));
    const steps = Object.entries(config.resource.terraform_data) as [string, any][];
    const synthesized = stack.tf.resource.null_resource;
    expect(steps.map(([k]) => k)).toEqual(Object.keys(synthesized));
    for (const [key, step] of steps) {
      expect(step.provisioner.length).toBe(synthesized[key].provisioner.length);
      expect(step.connection.bastion_host).toMatch(/^\$\{local\.rehearsal_volcengine_eip_address__bastion/);
      expect(step.triggers_replace.release_hash).toBe("0123456789ab");
    }
    expect(steps[1]![1].depends_on).toEqual([`terraform_data.${steps[0]![0]}`]);
    expect(steps[2]![1].depends_on).toEqual([`terraform_data.${steps[1]![0]}`]);
    const text = JSON.stringify(config);
    expect(text.replace(/rehearsal_volcengine_/g, "")).not.toMatch(/volcengine_[a-z_]+\./);
    expect(Object.values(config.locals)).toContain("172.16.9.13");
  });

  it("refuses a reference to a Volcengine resource it does not stand in for", () => {
    const partial = world(stack);
    delete partial.references[Object.keys(partial.references).find((k) => k.endsWith(".primary_ip_address"))!];
    expect(() => deployConfiguration(stack.tf, partial)).toThrow(/does not stand in for/);
  });

  it("is a valid Terraform configuration without any provider", () => {
    if (!requireTool("terraform").available) return;
    const tfDir = mkdtempSync(join(dir, "tf-"));
    writeFileSync(join(tfDir, "main.tf.json"), JSON.stringify(deployConfiguration(stack.tf, world(stack))));
    const terraform = terraformCommand();
    const init = spawnSync(terraform, ["init", "-no-color", "-input=false", "-backend=false"], {
      cwd: tfDir,
      encoding: "utf8",
    });
    expect(init.status, init.stderr).toBe(0);
    const validate = spawnSync(terraform, ["validate", "-no-color"], { cwd: tfDir, encoding: "utf8" });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
  }, 120_000);
});

describe("HAProxy as the CLB, from the synthesized listener", () => {
  const noCleanup = { add: () => undefined } as unknown as Cleanup;
  const render = (listener: ListenerSpec) => {
    const lb = new LoadBalancer("ns", dir, listener, noCleanup);
    (lb as unknown as { members: unknown[] }).members = [
      { name: "app-1", address: "172.16.1.11", port: 80, weight: 100 },
    ];
    return lb.render();
  };

  it("checks the listener's URI at its interval and thresholds, never resends, adds X-Forwarded-For", () => {
    const cfg = render(stack.listener);
    expect(cfg).toContain("option httpchk GET /readyz");
    expect(cfg).toContain("http-check expect rstatus ^2[0-9][0-9]$");
    expect(cfg).toContain("timeout check 2s");
    expect(cfg).toContain("retries 0");
    expect(cfg).toContain("option forwardfor");
    expect(cfg).toContain("balance leastconn");
    expect(cfg).toContain("server app-1 172.16.1.11:80 weight 100 check inter 2s rise 2 fall 2");
  });

  it("follows a changed health check rather than a fixed one", () => {
    const cfg = render({
      ...stack.listener,
      healthCheck: { ...stack.listener.healthCheck, interval: 5, healthy_threshold: 3, un_healthy_threshold: 4 },
    });
    expect(cfg).toContain("check inter 5s rise 3 fall 4");
    expect(() => render({ ...stack.listener, scheduler: "sh" })).toThrow(/not rehearsed/);
  });

  it("is a configuration HAProxy accepts", () => {
    if (!requireTool("haproxy").available) return;
    const file = join(dir, "haproxy.cfg");
    writeFileSync(file, render(stack.listener));
    const check = spawnSync("haproxy", ["-c", "-f", file], { encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});

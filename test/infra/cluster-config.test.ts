/** The cluster topology's configuration: what it refuses, what it derives, and what a change to it keeps. */
import { describe, expect, it } from "vitest";
import { CLUSTER_NEEDS_RDS } from "../../infra/config/cluster.js";
import { StackConfigError, parseStackConfig } from "../../infra/config/load.js";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { formatProblems } from "../../harness/terraform-schema/schemas.js";
import {
  RDS,
  baseEnvironment,
  fakeRelease,
  resources,
  synth,
  type TfJson,
  projectSchemas,
  type SynthResult,
  useSentinelEnvironment,
} from "./synth-helpers.js";
import { appServers, variants } from "./cluster-helpers.js";

useSentinelEnvironment();

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

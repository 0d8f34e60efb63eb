/**
 * A configuration change that would destroy or replace the RDS instance (every row of the
 * database) or the backup bucket is refused at plan unless the environment's `allowReplace` names
 * it. The guard's own pieces (the provider-free `terraform_data` records and the precondition that
 * compares them: infra/stacks/data-guard.ts) run in the real Terraform CLI, deploy after deploy,
 * on a real state; which changes alter the identity of RDS follows the provider's ForceNew chains.
 */
import { afterAll, describe, expect, it } from "vitest";
import { HTTPS, RDS, baseEnvironment, cleanupSynthDirs, synth, type TfJson } from "./synth-helpers.js";
import { hasTerraform, TerraformDir } from "./terraform-stand-in.js";

afterAll(cleanupSynthDirs);

/** Terraform's error box, wrapped at 80 columns, as one line. */
const flat = (text: string) => text.replace(/[│\s]+/g, " ");

const rdsSingle = (overrides: Record<string, unknown> = {}) => baseEnvironment({ database: RDS, ...overrides });

async function stackOf(env: Record<string, unknown>): Promise<TfJson> {
  return (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
}

const identities = async (env: Record<string, unknown>) => {
  const records = (await stackOf(env)).resource.terraform_data;
  return {
    database: records.data_guard_database.input as { hash: string; summary: string },
    backups: records.data_guard_backups.input as { hash: string; summary: string },
  };
};

describe("what changes the identity of RDS (the provider's ForceNew chains)", () => {
  it.each<[string, Record<string, unknown>, boolean]>([
    [
      "network.subnetCidr (subnet cidr_block → RDS subnet_id)",
      rdsSingle({ network: { subnetCidr: "172.16.5.0/24" } }),
      true,
    ],
    [
      "network.vpcCidr (VPC cidr_block → subnet vpc_id → RDS subnet_id)",
      rdsSingle({ network: { vpcCidr: "10.1.0.0/16", subnetCidr: "10.1.1.0/24" } }),
      true,
    ],
    ["zone (primary_zone_id, subnet zone_id)", rdsSingle({ zone: "cn-beijing-c" }), true],
    ["database.engineVersion", rdsSingle({ database: { ...RDS, engineVersion: "PostgreSQL_17" } }), true],
    // The cluster's first app subnet keeps the single topology's address, CIDR and zone.
    ["topology single → cluster (RDS stays in the same subnet)", rdsSingle({ topology: "cluster" }), false],
    [
      "topology single → cluster with another subnetCidr",
      rdsSingle({ topology: "cluster", network: { subnetCidr: "172.16.8.0/24" } }),
      true,
    ],
    ["database.nodeSpec (in place)", rdsSingle({ database: { ...RDS, nodeSpec: "rds.postgres.2c4g" } }), false],
    ["database.storageGb (in place)", rdsSingle({ database: { ...RDS, storageGb: 40 } }), false],
    [
      "instanceType, https, adminCidrs, retention",
      rdsSingle({
        instanceType: "ecs.g3i.large",
        https: HTTPS,
        ssh: { ...(baseEnvironment().ssh as object), adminCidrs: ["192.0.2.1/32"] },
        backups: { retentionDays: 90 },
      }),
      false,
    ],
  ])("%s", async (_change, env, replaces) => {
    const before = await identities(rdsSingle());
    const after = await identities(env);
    expect(after.database.hash !== before.database.hash).toBe(replaces);
    expect(after.backups.hash).toBe(before.backups.hash);
  });

  it("database.mode rds → local leaves no RDS: an empty identity", async () => {
    expect((await identities(baseEnvironment())).database.hash).toBe("");
  });
});

describe.skipIf(!hasTerraform)("the guard in a real plan, against the previous deploy's record in the state", () => {
  const dir = new TerraformDir();
  afterAll(() => dir.dispose());
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

  it("records the first deploy; an unchanged or in-place change plans clean", async () => {
    // The first deploy of an environment (or of this version): nothing recorded, nothing refused.
    const first = await deploy(rdsSingle());
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const again = await deploy(rdsSingle({ database: { ...RDS, storageGb: 40 } }));
    expect(again.stderr).toBe("");
  });

  it("refuses a subnet CIDR change, naming what would be lost, the recorded and the new identity", async () => {
    const r = await deploy(rdsSingle({ network: { subnetCidr: "172.16.5.0/24" } }));
    expect(r.status).not.toBe(0);
    const message = flat(r.stderr);
    expect(message).toContain(
      "Refused: this deploy would destroy or replace the RDS for PostgreSQL instance of todo-api-prod",
    );
    expect(message).toContain("every row of the database");
    expect(message).toMatch(
      /Last deploy: .*cidr_block=172\.16\.1\.0\/24.*This configuration: .*cidr_block=172\.16\.5\.0\/24/,
    );
    expect(message).toContain('"allowReplace": ["database"]');
  });

  it("refuses database.mode rds → local (RDS destroyed)", async () => {
    const r = await deploy(baseEnvironment());
    expect(r.status).not.toBe(0);
    expect(flat(r.stderr)).toContain("This configuration: none");
  });

  it("lets the owner say so with allowReplace, records the new identity, and plans clean afterwards without it", async () => {
    const changed = { network: { subnetCidr: "172.16.5.0/24" } };
    const allowed = await deploy(rdsSingle({ ...changed, allowReplace: ["database"] }));
    expect(allowed.stderr).toBe("");
    expect(allowed.status).toBe(0);
    const after = await deploy(rdsSingle(changed));
    expect(after.stderr).toBe("");
    expect(after.status).toBe(0);
    // And the old CIDR is now the change that is refused.
    expect((await deploy(rdsSingle())).status).not.toBe(0);
  });

  it("refuses a configuration without the backup bucket unless allowReplace names backups", async () => {
    const base = await stackOf(rdsSingle({ network: { subnetCidr: "172.16.5.0/24" } }));
    const { volcengine_tos_bucket: _bucket, terraform_data: _guard, ...rest } = base.resource;
    // A stack whose bucket is gone (as a code change could do): recomputed through the guard's own code.
    const { withDataGuard } = await import("../../infra/stacks/data-guard.js");
    const without = (allow: ("database" | "backups")[]) =>
      guardOf(withDataGuard({ ...base, resource: rest }, { stack: "todo-api-prod", allowReplace: allow }));
    dir.write(without([]));
    const refused = dir.apply();
    expect(refused.status).not.toBe(0);
    expect(flat(refused.stderr)).toContain("the backup bucket of todo-api-prod");
    dir.write(without(["backups"]));
    const allowed = dir.plan();
    expect(allowed.stderr).toBe("");
    expect(allowed.status).toBe(0);
  });
});

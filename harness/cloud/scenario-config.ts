import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Where a Terraform filesystem mirror keeps the Volcengine provider binary, if `dir` holds one. */
export function providerInMirror(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  const base = join(dir, "registry.terraform.io", "volcengine", "volcengine");
  if (!existsSync(base)) return undefined;
  for (const version of readdirSync(base)) {
    const platform = join(base, version, "linux_amd64");
    if (!existsSync(platform)) continue;
    const binary = readdirSync(platform).find((f) => f.startsWith("terraform-provider-volcengine"));
    if (binary) return join(platform, binary);
  }
  return undefined;
}

/** Terraform CLI configuration that installs providers only from the mirror (no network). */
export function writeCliConfig(work: string, mirror: string): string {
  const file = join(work, "terraform.rc");
  writeFileSync(file, `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(mirror)}\n  }\n}\n`);
  return file;
}

/** The defaults of every scenario environment, as a user would write them from stack.config.example.json. */
function defaults(key: string): Record<string, unknown> {
  return {
    region: "cn-beijing",
    zone: "cn-beijing-a",
    instanceType: "ecs.c3i.large",
    image: { platform: "Debian", version: "12" },
    systemDisk: { type: "ESSD_PL0", sizeGb: 40 },
    network: { vpcCidr: "172.16.0.0/16", subnetCidr: "172.16.1.0/24" },
    // 198.18.0.0/15 is the benchmarking range the stand-in's EIPs come from: no real address.
    ssh: { publicKeyPath: `${key}.pub`, privateKeyPath: key, user: "root", adminCidrs: ["198.18.255.1/32"] },
    eip: { billingType: "PostPaidByTraffic", bandwidthMbps: 5, isp: "BGP" },
    database: { mode: "local" },
    tags: { project: "todo-api" },
  };
}

/** A stack config with one environment, `dev`, and its own SSH key (made once per work dir). */
export function writeEnvironmentConfig(work: string, environment: Record<string, unknown>): string {
  const key = join(work, "id_ed25519");
  if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "local-cloud", "-f", key]);
  const config = {
    project: "todo-api",
    state: { backend: "local" },
    defaults: defaults(key),
    environments: { dev: environment },
  };
  const file = join(work, "stack.config.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A change an owner makes to an existing environment: the whole environment after it. */
export interface OwnerChange {
  /** The row of docs/deploy.md's checked table ("single-local: add a domain"). */
  id: string;
  environment: Record<string, unknown>;
}

export interface Variant {
  id: string;
  environment: Record<string, unknown>;
  /** Applied one after the other on the same state. */
  changes: OwnerChange[];
  /** `cluster.autoScaling`: run by scaling-scenario.ts (its group starts servers, held at the hook). */
  scaling?: true;
}

export const RDS = {
  mode: "rds",
  engineVersion: "PostgreSQL_16",
  nodeSpec: "rds.postgres.1c2g",
  storageGb: 20,
  secondaryZone: "cn-beijing-b",
};
const HTTPS = { domain: "api.todo.example", acmeEmail: "ops@todo.example" };
const ALERTS = { email: "ops@todo.example" };
const TWO_ADMINS = { adminCidrs: ["198.18.255.1/32", "198.18.255.2/32"] };

/** The scenario's environments and the owner changes made to each (`--variant <id>` runs one). */
export const VARIANTS: Variant[] = [
  {
    id: "single-local",
    environment: {},
    changes: [
      { id: "single-local: add a domain", environment: { https: HTTPS } },
      { id: "single-local: local to rds", environment: { https: HTTPS, database: RDS } },
    ],
  },
  {
    id: "single-rds",
    environment: { database: RDS, backups: { retentionDays: 30 }, alerts: ALERTS, https: HTTPS },
    changes: [
      {
        id: "single-rds: add an admin CIDR",
        environment: { database: RDS, backups: { retentionDays: 30 }, alerts: ALERTS, https: HTTPS, ssh: TWO_ADMINS },
      },
      {
        id: "single-rds: change retention",
        environment: { database: RDS, backups: { retentionDays: 14 }, alerts: ALERTS, https: HTTPS, ssh: TWO_ADMINS },
      },
    ],
  },
  {
    id: "cluster",
    environment: { topology: "cluster", database: RDS, alerts: ALERTS },
    changes: [
      {
        id: "cluster: add an admin CIDR",
        environment: { topology: "cluster", database: RDS, alerts: ALERTS, ssh: TWO_ADMINS },
      },
      // Revokes a rule on an update, as owners do: under each answer to revoking (answers.ts).
      { id: "cluster: remove an admin CIDR", environment: { topology: "cluster", database: RDS, alerts: ALERTS } },
    ],
  },
  {
    // The cluster with `autoScaling`, added to an existing cluster, scaled out, emptied and removed
    // as docs/scale-out.md says (two deploys), added again, and destroyed with a server in its group.
    id: "cluster-scaling",
    environment: { topology: "cluster", database: RDS },
    changes: [
      { id: "cluster-scaling: add autoScaling", environment: scaling({ maxServers: 3, desiredServers: 1 }) },
      { id: "cluster-scaling: one more server", environment: scaling({ maxServers: 3, desiredServers: 2 }) },
      {
        id: "cluster-scaling: empty the group",
        environment: scaling({ minServers: 0, maxServers: 3, desiredServers: 0 }),
      },
      { id: "cluster-scaling: remove autoScaling", environment: { topology: "cluster", database: RDS } },
      { id: "cluster-scaling: add autoScaling again", environment: scaling({ maxServers: 3, desiredServers: 1 }) },
    ],
    scaling: true,
  },
];

function scaling(autoScaling: Record<string, number>): Record<string, unknown> {
  return { topology: "cluster", database: RDS, cluster: { autoScaling } };
}

/** Resource types the record-only environments leave out with -target: the SSH deploy step (no server to reach). */
export const NOT_SERVED = ["null_resource"];

/**
 * Every resource address of a synthesized stack except the types in `skip` and whatever depends on
 * them (a `depends_on` entry or a reference such as `${null_resource.x.id}`, followed transitively):
 * `-target` pulls in a target's dependencies, so a resource that waits for the deploy step would
 * bring the deploy step back.
 */
export function targets(
  stack: { resource?: Record<string, Record<string, unknown>> },
  skip: readonly string[],
): { included: string[]; excluded: string[] } {
  const all = Object.entries(stack.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName).map(([name, body]) => ({ address: `${type}.${name}`, text: JSON.stringify(body) })),
  );
  const excluded = new Set(all.filter((r) => skip.includes(r.address.split(".")[0]!)).map((r) => r.address));
  // In depends_on ("null_resource.x") or in an expression (null_resource.x.id).
  const mentions = (text: string, address: string) => text.includes(`"${address}"`) || text.includes(`${address}.`);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of all) {
      if (excluded.has(r.address) || ![...excluded].some((x) => mentions(r.text, x))) continue;
      excluded.add(r.address);
      grew = true;
    }
  }
  return {
    included: all.map((r) => r.address).filter((a) => !excluded.has(a)),
    excluded: all.map((r) => r.address).filter((a) => excluded.has(a)),
  };
}

/**
 * Applied only when asked (--strip-descriptions): strip from every `description` the characters
 * the Volcengine APIs refuse, so the rest of the lifecycle can be exercised against a checkout
 * whose descriptions the APIs refuse. The run reports that it did this.
 */
export function stripDescriptions(node: unknown): number {
  let changed = 0;
  if (Array.isArray(node)) for (const x of node) changed += stripDescriptions(x);
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (k === "description" && typeof v === "string") {
        const clean = v.replace(/[^\p{Script=Han}A-Za-z0-9._ =,\-，。]/gu, "").trim();
        if (clean !== v) {
          o[k] = clean;
          changed++;
        }
      } else changed += stripDescriptions(v);
    }
  }
  return changed;
}

/**
 * A copy of the checkout's files (tracked and untracked, not ignored) in `dest`, sharing its
 * node_modules and .gen: where the scenario makes the owner's change to the app without touching
 * the checkout it runs from.
 */
export function copyRepository(repo: string, dest: string): string {
  const files = execFileSync("git", ["-C", repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    encoding: "utf8",
  })
    .split("\0")
    .filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(repo, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(repo, file), join(dest, file), { verbatimSymlinks: true });
  }
  for (const shared of ["node_modules", ".gen"])
    if (existsSync(join(repo, shared))) symlinkSync(join(repo, shared), join(dest, shared));
  return dest;
}

import { cidrContains, cidrsOverlap, nextCidr } from "./cidr.js";

/**
 * Where the cluster topology puts things, derived from the environment's settings, and what is
 * wrong with them. Kept apart from the zod schema so the stack and the validation share one
 * derivation (the schema reports `clusterProblems`, the stack uses `clusterLayout`).
 */

/** The parts of a validated environment the cluster layout depends on. */
export interface ClusterLayoutInput {
  zone: string;
  network: { vpcCidr: string; subnetCidr: string; secondSubnetCidr?: string; loadBalancerSubnetCidr?: string };
  database: { mode: "local" } | { mode: "rds"; secondaryZone?: string };
  cluster: { servers: number; secondZone?: string };
  https?: unknown;
}

export interface ClusterLayout {
  /** The two zones, the configured `zone` first. */
  zones: [string, string];
  /** App subnets, one per zone (same order as `zones`). */
  appSubnetCidrs: [string, string];
  /** The load balancer's and the NAT gateway's subnet, in the first zone. */
  loadBalancerSubnetCidr: string;
  /** Zone index (0 or 1) of each app server: they alternate, so a zone outage leaves half. */
  serverZones: number[];
}

export function clusterLayout(env: ClusterLayoutInput): ClusterLayout {
  const secondZone = env.cluster.secondZone ?? (env.database.mode === "rds" ? env.database.secondaryZone : undefined);
  return {
    zones: [env.zone, secondZone ?? env.zone],
    appSubnetCidrs: [env.network.subnetCidr, env.network.secondSubnetCidr ?? nextCidr(env.network.subnetCidr, 1)],
    loadBalancerSubnetCidr: env.network.loadBalancerSubnetCidr ?? nextCidr(env.network.subnetCidr, 2),
    serverZones: Array.from({ length: env.cluster.servers }, (_, i) => i % 2),
  };
}

export const CLUSTER_NEEDS_RDS =
  'topology "cluster" requires database mode "rds": all servers must share one database, and a "local" database lives on a single server. ' +
  'Set "database": { "mode": "rds", "secondaryZone": "<second zone>" } (see docs/scale-out.md)';

export function clusterProblems(env: ClusterLayoutInput): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (env.database.mode !== "rds") problems.push({ path: ["database", "mode"], message: CLUSTER_NEEDS_RDS });
  if (env.https !== undefined) {
    problems.push({
      path: ["https"],
      message:
        'sets up Certbot on a single server and does not apply to topology "cluster", where TLS terminates at the load balancer: ' +
        "remove it and set cluster.certificate { domain, certificatePath, privateKeyPath } instead (see docs/scale-out.md)",
    });
  }
  const layout = clusterLayout(env);
  if (layout.zones[0] === layout.zones[1]) {
    problems.push({
      path: ["cluster", "secondZone"],
      message: `topology "cluster" spreads the servers over two zones: set database.secondaryZone (or cluster.secondZone) to a zone other than "${env.zone}"`,
    });
  }
  const subnets: [string, string][] = [
    ["subnetCidr", layout.appSubnetCidrs[0]],
    ["secondSubnetCidr", layout.appSubnetCidrs[1]],
    ["loadBalancerSubnetCidr", layout.loadBalancerSubnetCidr],
  ];
  subnets.forEach(([key, cidr], i) => {
    if (!cidrContains(env.network.vpcCidr, cidr)) {
      problems.push({
        path: ["network", key],
        message: `${cidr} is not inside the VPC ${env.network.vpcCidr}; set network.${key} explicitly`,
      });
    }
    for (const [otherKey, other] of subnets.slice(0, i)) {
      if (cidrsOverlap(cidr, other)) {
        problems.push({
          path: ["network", key],
          message: `${cidr} overlaps network.${otherKey} (${other}); subnets must not overlap`,
        });
      }
    }
  });
  return problems;
}

import { Construct } from "constructs";
import { SecurityGroup } from "../../.gen/providers/volcengine/security-group/index.js";
import { SecurityGroupRule } from "../../.gen/providers/volcengine/security-group-rule/index.js";
import { Subnet } from "../../.gen/providers/volcengine/subnet/index.js";
import { Vpc } from "../../.gen/providers/volcengine/vpc/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";
import { egressEverywhere } from "./egress-rules.js";
import { movedFromLegacyId, ruleId } from "./rule-ids.js";

/**
 * Where a CLB layer-7 listener's requests and health checks come from: the CLB documentation
 * ("Configuring a server security group") says HTTP/HTTPS listeners reach every backend from
 * 100.64.0.0/10, not from the load balancer's subnet. The app servers' port 80 and the app's
 * TRUSTED_PROXIES both need it.
 */
export const CLB_BACKEND_SOURCE_CIDR = "100.64.0.0/10";

export interface ClusterNetworkProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** The VPC's CIDR (ForceNew: a new block replaces the VPC and everything in it). */
  readonly vpcCidr: string;
  /** The two zones and their app subnets (same order). */
  readonly zones: readonly [string, string];
  /** CIDRs of the app subnets, by zone (ForceNew). */
  readonly appSubnetCidrs: readonly [string, string];
  /** Subnet of the load balancer and the NAT gateway (in the first zone). */
  readonly loadBalancerSubnetCidr: string;
  /** CIDRs allowed to SSH to the bastion. Nothing else reaches port 22 from outside. */
  readonly adminCidrs: readonly string[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
  /**
   * HTTP (80) from the app security group itself: the seed (the first server) checks a new
   * server's `/readyz` before admitting it (`autoScaling`).
   * @default false
   */
  readonly httpBetweenAppServers?: boolean;
}

/** One ingress rule as the stack intends it: from a CIDR or from another security group. */
export interface ClusterIngressRule {
  readonly port: number;
  readonly from: { readonly cidr: string } | { readonly securityGroup: "bastion" | "app" };
  readonly purpose: string;
}

/**
 * The private network of the load-balanced topology: a VPC, one app subnet in each of two zones,
 * a subnet for the load balancer (and the NAT gateway), and two security groups:
 * - app servers: HTTP (80) only from the CLB's layer-7 source range 100.64.0.0/10, SSH only from
 *   the bastion's security group; nothing open to the world (they have no public address anyway);
 * - bastion: SSH only from the admin CIDRs.
 * Both may send anything out (the app servers through the NAT gateway). PostgreSQL is never opened.
 */
export class ClusterNetwork extends Construct {
  readonly vpcId: string;
  readonly appSubnetIds: readonly [string, string];
  readonly appSubnetCidrs: readonly [string, string];
  readonly zones: readonly [string, string];
  readonly loadBalancerSubnetId: string;
  readonly loadBalancerSubnetCidr: string;
  readonly appSecurityGroupId: string;
  readonly bastionSecurityGroupId: string;
  readonly appIngressRules: readonly ClusterIngressRule[];
  readonly bastionIngressRules: readonly ClusterIngressRule[];

  constructor(scope: Construct, id: string, props: ClusterNetworkProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);

    const vpc = new Vpc(this, "vpc", {
      vpcName: `${props.name}-vpc`,
      cidrBlock: props.vpcCidr,
      description: apiDescription(`Todo API network of ${props.name}`),
      tags,
    });
    // The first app subnet has the same construct id, name and CIDR as the single topology's
    // subnet, so switching topologies keeps it (and the RDS instance that lives in it).
    const appSubnets = props.zones.map(
      (zone, i) =>
        new Subnet(this, i === 0 ? "subnet" : `app-subnet-${i + 1}`, {
          subnetName: i === 0 ? `${props.name}-subnet` : `${props.name}-subnet-${i + 1}`,
          vpcId: vpc.id,
          zoneId: zone,
          cidrBlock: props.appSubnetCidrs[i]!,
        }),
    );
    const lbSubnet = new Subnet(this, "lb-subnet", {
      subnetName: `${props.name}-lb`,
      vpcId: vpc.id,
      zoneId: props.zones[0],
      cidrBlock: props.loadBalancerSubnetCidr,
    });

    const appGroup = new SecurityGroup(this, "app-security-group", {
      securityGroupName: `${props.name}-app-sg`,
      vpcId: vpc.id,
      description: apiDescription("App servers, HTTP from the load balancer, SSH from the bastion only"),
      tags,
    });
    const bastionGroup = new SecurityGroup(this, "bastion-security-group", {
      securityGroupName: `${props.name}-bastion-sg`,
      vpcId: vpc.id,
      description: apiDescription("Bastion, SSH from admin CIDRs only"),
      tags,
    });

    const appIngressRules: ClusterIngressRule[] = [
      { port: 80, from: { cidr: CLB_BACKEND_SOURCE_CIDR }, purpose: "http from the load balancer" },
      { port: 22, from: { securityGroup: "bastion" }, purpose: "ssh from the bastion" },
      ...(props.httpBetweenAppServers
        ? [
            {
              port: 80,
              from: { securityGroup: "app" as const },
              purpose: "http from the app servers (the seed's readiness check)",
            },
          ]
        : []),
    ];
    const bastionIngressRules: ClusterIngressRule[] = props.adminCidrs.map((cidr) => ({
      port: 22,
      from: { cidr },
      purpose: "ssh from admin",
    }));

    const ingress = (groupId: string, prefix: string, rules: ClusterIngressRule[]) =>
      rules.forEach((rule, i) => {
        const source = "cidr" in rule.from ? rule.from.cidr : rule.from.securityGroup;
        const sgRule = new SecurityGroupRule(this, ruleId(`${prefix}-ingress`, rule.port, source), {
          securityGroupId: groupId,
          direction: "ingress",
          protocol: "tcp",
          portStart: rule.port,
          portEnd: rule.port,
          ...("cidr" in rule.from
            ? { cidrIp: rule.from.cidr }
            : { sourceGroupId: rule.from.securityGroup === "app" ? appGroup.id : bastionGroup.id }),
          policy: "accept",
          priority: 1,
          description: apiDescription(rule.purpose),
        });
        // Earlier versions named rules by position (`<prefix>-ingress-<port>-<i>`): move them.
        // Not the old port-80 rule, which allowed the load balancer's subnet: that is a different
        // rule (it never let the CLB in), so it is deleted and the 100.64.0.0/10 one created.
        if (!(prefix === "app" && rule.port === 80)) movedFromLegacyId(sgRule, `${prefix}-ingress-${rule.port}-${i}`);
      });
    ingress(appGroup.id, "app", appIngressRules);
    ingress(bastionGroup.id, "bastion", bastionIngressRules);

    for (const [prefix, groupId, why] of [
      ["app", appGroup.id, "all outbound through the NAT gateway, packages, Node.js downloads, RDS"],
      ["bastion", bastionGroup.id, "all outbound, SSH to the app servers, packages"],
    ] as const) {
      egressEverywhere(this, `${prefix}-egress-all`, groupId, why);
    }

    this.vpcId = vpc.id;
    this.appSubnetIds = [appSubnets[0]!.id, appSubnets[1]!.id];
    this.appSubnetCidrs = props.appSubnetCidrs;
    this.zones = props.zones;
    this.loadBalancerSubnetId = lbSubnet.id;
    this.loadBalancerSubnetCidr = props.loadBalancerSubnetCidr;
    this.appSecurityGroupId = appGroup.id;
    this.bastionSecurityGroupId = bastionGroup.id;
    this.appIngressRules = appIngressRules;
    this.bastionIngressRules = bastionIngressRules;
  }
}

import { Construct } from "constructs";
import { SecurityGroup } from "../../.gen/providers/volcengine/security-group/index.js";
import { SecurityGroupRule } from "../../.gen/providers/volcengine/security-group-rule/index.js";
import { Subnet } from "../../.gen/providers/volcengine/subnet/index.js";
import { Vpc } from "../../.gen/providers/volcengine/vpc/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";
import { egressEverywhere } from "./egress-rules.js";
import { movedFromLegacyId, ruleId } from "./rule-ids.js";

export interface NetworkProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Zone of the subnet (ForceNew). */
  readonly zone: string;
  /** The VPC's CIDR (ForceNew: replaces the VPC and everything in it). */
  readonly vpcCidr: string;
  /** The subnet's CIDR (ForceNew: replaces the subnet, the server and RDS). */
  readonly subnetCidr: string;
  /** CIDRs allowed to reach SSH (port 22). Nothing else may. */
  readonly adminCidrs: readonly string[];
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/** One ingress rule the security group opens, as the stack intends it (for tests and docs). */
export interface IngressRule {
  readonly port: number;
  readonly cidr: string;
  readonly purpose: string;
}

/**
 * The private network of one environment: VPC, one subnet in the server's zone, and the security
 * group that is the only way in: SSH from the admin CIDRs, HTTP and HTTPS from anywhere, all
 * egress. PostgreSQL (5432) is never opened: the app reaches it on localhost or inside the VPC.
 */
export class Network extends Construct {
  readonly vpcId: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  readonly zone: string;
  readonly securityGroupId: string;
  readonly ingressRules: readonly IngressRule[];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);

    const vpc = new Vpc(this, "vpc", {
      vpcName: `${props.name}-vpc`,
      cidrBlock: props.vpcCidr,
      description: apiDescription(`Todo API network of ${props.name}`),
      tags,
    });
    const subnet = new Subnet(this, "subnet", {
      subnetName: `${props.name}-subnet`,
      vpcId: vpc.id,
      zoneId: props.zone,
      cidrBlock: props.subnetCidr,
    });
    const group = new SecurityGroup(this, "security-group", {
      securityGroupName: `${props.name}-sg`,
      vpcId: vpc.id,
      description: apiDescription("SSH from admin CIDRs only, HTTP and HTTPS from anywhere"),
      tags,
    });

    const ingressRules: IngressRule[] = [
      ...props.adminCidrs.map((cidr) => ({ port: 22, cidr, purpose: "ssh from admin" })),
      { port: 80, cidr: "0.0.0.0/0", purpose: "http, redirect and ACME challenge" },
      { port: 443, cidr: "0.0.0.0/0", purpose: "https" },
    ];
    ingressRules.forEach((rule, i) => {
      const sgRule = new SecurityGroupRule(this, ruleId("ingress", rule.port, rule.cidr), {
        securityGroupId: group.id,
        direction: "ingress",
        protocol: "tcp",
        portStart: rule.port,
        portEnd: rule.port,
        cidrIp: rule.cidr,
        policy: "accept",
        priority: 1,
        description: apiDescription(rule.purpose),
      });
      // Earlier versions named them `ingress-<port>-<position>`: move those rules, never replace them.
      movedFromLegacyId(sgRule, `ingress-${rule.port}-${i}`);
    });
    egressEverywhere(this, "egress-all", group.id, "all outbound, packages, Lets Encrypt, Node.js downloads");

    this.vpcId = vpc.id;
    this.subnetId = subnet.id;
    this.subnetCidr = props.subnetCidr;
    this.zone = props.zone;
    this.securityGroupId = group.id;
    this.ingressRules = ingressRules;
  }
}

import { Construct } from "constructs";
import { NatGateway as VolcNatGateway } from "../../.gen/providers/volcengine/nat-gateway/index.js";
import { SnatEntry } from "../../.gen/providers/volcengine/snat-entry/index.js";
import { ElasticIp, type EipSettings } from "./elastic-ip.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

export interface NatGatewayProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** VPC of the gateway. */
  readonly vpcId: string;
  /** Subnet the gateway itself sits in. */
  readonly subnetId: string;
  /** Subnets whose servers reach the Internet through it (one SNAT entry each). */
  readonly sourceSubnetIds: readonly string[];
  /** NAT gateway specification. */
  readonly spec: "Small" | "Medium" | "Large";
  /** Billing of the gateway's elastic IP. */
  readonly eip: EipSettings;
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Outbound Internet for servers without a public IP: a pay-as-you-go NAT gateway with its own
 * elastic IP and an SNAT entry per private subnet. cloud-init needs it on first boot (apt,
 * the Node.js download), so the servers wait for the SNAT entries (`ready`).
 */
export class NatGateway extends Construct {
  readonly publicIp: string;
  /** Done when the private subnets can reach the Internet. */
  readonly ready: SnatEntry[];

  constructor(scope: Construct, id: string, props: NatGatewayProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);
    const gateway = new VolcNatGateway(this, "gateway", {
      natGatewayName: `${props.name}-nat`,
      description: apiDescription(`Outbound Internet for the Todo API servers of ${props.name}`),
      vpcId: props.vpcId,
      subnetId: props.subnetId,
      billingType: "PostPaid",
      spec: props.spec,
      tags,
    });
    const eip = new ElasticIp(this, "eip", {
      name: `${props.name}-nat-eip`,
      description: `Outbound IP of the Todo API servers of ${props.name}`,
      eip: props.eip,
      attachTo: { id: gateway.id, type: "Nat" },
      // The SNAT entries use the address: a new `isp` must not disassociate it first (deadlock).
      createBeforeDestroy: true,
      tags: props.tags,
    });
    this.ready = props.sourceSubnetIds.map(
      (subnetId, i) =>
        new SnatEntry(this, `snat-${i + 1}`, {
          snatEntryName: `${props.name}-snat-${i + 1}`,
          natGatewayId: gateway.id,
          subnetId,
          eipId: eip.allocationId,
          dependsOn: [eip.association],
        }),
    );
    this.publicIp = eip.address;
  }
}

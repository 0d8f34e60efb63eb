import { Construct } from "constructs";
import { NatGateway as VolcNatGateway } from "../../.gen/providers/volcengine/nat-gateway/index.js";
import { SnatEntry } from "../../.gen/providers/volcengine/snat-entry/index.js";
import { ElasticIp, type EipSettings } from "./elastic-ip.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

export interface NatGatewayConfig {
  name: string;
  vpcId: string;
  /** Subnet the gateway itself sits in. */
  subnetId: string;
  /** Subnets whose servers reach the Internet through it (one SNAT entry each). */
  sourceSubnetIds: readonly string[];
  spec: "Small" | "Medium" | "Large";
  eip: EipSettings;
  tags: Readonly<Record<string, string>>;
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

  constructor(scope: Construct, id: string, config: NatGatewayConfig) {
    super(scope, id);
    const tags = tagBlocks(config.tags);
    const gateway = new VolcNatGateway(this, "gateway", {
      natGatewayName: `${config.name}-nat`,
      description: apiDescription(`Outbound Internet for the Todo API servers of ${config.name}`),
      vpcId: config.vpcId,
      subnetId: config.subnetId,
      billingType: "PostPaid",
      spec: config.spec,
      tags,
    });
    const eip = new ElasticIp(this, "eip", {
      name: `${config.name}-nat-eip`,
      description: `Outbound IP of the Todo API servers of ${config.name}`,
      eip: config.eip,
      attachTo: { id: gateway.id, type: "Nat" },
      tags: config.tags,
    });
    this.ready = config.sourceSubnetIds.map(
      (subnetId, i) =>
        new SnatEntry(this, `snat-${i + 1}`, {
          snatEntryName: `${config.name}-snat-${i + 1}`,
          natGatewayId: gateway.id,
          subnetId,
          eipId: eip.allocationId,
          dependsOn: [eip.association],
        }),
    );
    this.publicIp = eip.address;
  }
}

import { Construct } from "constructs";
import { EipAddress } from "../../.gen/providers/volcengine/eip-address/index.js";
import { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

export interface EipSettings {
  billingType: string;
  bandwidthMbps: number;
  isp: string;
}

export interface ElasticIpConfig {
  /** Resource name of the address, e.g. "todo-api-dev-eip". */
  name: string;
  description: string;
  eip: EipSettings;
  /** What the address is attached to: an ECS instance or a NAT gateway. */
  attachTo: { id: string; type: "EcsInstance" | "Nat" };
  tags: Readonly<Record<string, string>>;
}

/** A pay-as-you-go elastic IP and its association with one instance or NAT gateway. */
export class ElasticIp extends Construct {
  /** The allocation id (`eip-...`), for resources that name the address itself. */
  readonly allocationId: string;
  readonly address: string;
  /** Whatever needs the address to answer waits on this. */
  readonly association: EipAssociate;

  constructor(scope: Construct, id: string, config: ElasticIpConfig) {
    super(scope, id);
    const eip = new EipAddress(this, "address", {
      name: config.name,
      description: apiDescription(config.description),
      billingType: config.eip.billingType,
      bandwidth: config.eip.bandwidthMbps,
      isp: config.eip.isp,
      tags: tagBlocks(config.tags),
    });
    this.association = new EipAssociate(this, "association", {
      allocationId: eip.id,
      instanceId: config.attachTo.id,
      instanceType: config.attachTo.type,
    });
    this.allocationId = eip.id;
    this.address = eip.eipAddress;
  }
}

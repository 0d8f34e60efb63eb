import { Construct } from "constructs";
import { EipAddress } from "../../.gen/providers/volcengine/eip-address/index.js";
import { EipAssociate } from "../../.gen/providers/volcengine/eip-associate/index.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

/**
 * The ECS instance's own `eip_address` block, which the stack never sets (an address is bound by
 * `volcengine_eip_associate`). The provider reads it back from DescribeInstances' `EipAddress`, and
 * the block is ForceNew: if the API reports the bound address there (not documented either way),
 * the next plan would replace the server, and its local database with it. Every instance ignores it.
 */
export const INSTANCE_EIP_BLOCK = "eip_address";

export interface EipSettings {
  /** "PostPaidByTraffic" or "PostPaidByBandwidth" (config `eip.billingType`). */
  readonly billingType: string;
  /** Peak bandwidth in Mbps (at most 200 with PostPaidByTraffic). */
  readonly bandwidthMbps: number;
  /** Line of the address: "BGP", "ChinaMobile", "ChinaUnicom" or "ChinaTelecom"; ForceNew. */
  readonly isp: string;
}

export interface ElasticIpProps {
  /** Resource name of the address, e.g. "todo-api-dev-eip". */
  readonly name: string;
  /** What the address is for, shown in the console (the stack's marker is appended). */
  readonly description: string;
  /** Billing type, bandwidth and line of the address. */
  readonly eip: EipSettings;
  /** What the address is attached to: an ECS instance or a NAT gateway. */
  readonly attachTo: { readonly id: string; readonly type: "EcsInstance" | "Nat" };
  /**
   * A replaced address (`isp` is ForceNew) is created and associated before the old one is
   * released: what refers to the address (a NAT's SNAT entries) moves to the new one in place
   * first, instead of the old association being deleted while still in use.
   * @default false
   */
  readonly createBeforeDestroy?: boolean;
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/** A pay-as-you-go elastic IP and its association with one instance or NAT gateway. */
export class ElasticIp extends Construct {
  /** The allocation id (`eip-...`), for resources that name the address itself. */
  readonly allocationId: string;
  readonly address: string;
  /** Whatever needs the address to answer waits on this. */
  readonly association: EipAssociate;

  constructor(scope: Construct, id: string, props: ElasticIpProps) {
    super(scope, id);
    const eip = new EipAddress(this, "address", {
      name: props.name,
      description: apiDescription(props.description),
      billingType: props.eip.billingType,
      bandwidth: props.eip.bandwidthMbps,
      isp: props.eip.isp,
      tags: tagBlocks(props.tags),
      ...(props.createBeforeDestroy ? { lifecycle: { createBeforeDestroy: true } } : {}),
    });
    this.association = new EipAssociate(this, "association", {
      allocationId: eip.id,
      instanceId: props.attachTo.id,
      instanceType: props.attachTo.type,
      ...(props.createBeforeDestroy ? { lifecycle: { createBeforeDestroy: true } } : {}),
    });
    this.allocationId = eip.id;
    this.address = eip.eipAddress;
  }
}

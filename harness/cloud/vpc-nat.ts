import { randomBytes } from "node:crypto";
import { Cleanup } from "../rehearse/cleanup.js";
import { createVpc, type Vpc } from "../rehearse/cluster/vpc.js";
import { run } from "../rehearse/shell.js";

/**
 * A stand-in VPC's address translation, in its "vpc" namespace (cluster/vpc.ts), as the records
 * of the NAT gateway and the EIPs say (vpc-networks.ts decides when):
 *  - `egress`: the sources of the NAT gateway's SNAT entries, masqueraded out through the uplink;
 *    nothing else gets out;
 *  - `eip_in`/`eip_out`: an EIP maps 1:1 to a private address (DNAT in, SNAT out), and this
 *    machine routes the EIP to the uplink.
 */
export interface VpcEntry {
  /** Short id in the names of the namespaces, the uplink and the nft table of cluster/vpc.ts. */
  id: string;
  vpc: Vpc;
  /** The VPC end of the uplink (where this machine routes EIPs to). */
  uplink: string;
  /** The uplink's network, for the log. */
  uplinkNet: string;
  subnets: Set<string>;
  cleanup: Cleanup;
}

const TABLE = "stand_in";

/** A VPC with no subnet yet, its uplink from LOCAL_CLOUD_VPC_UPLINK or a random 10.216.x.0/29. */
export async function createNatVpc(): Promise<VpcEntry> {
  const cleanup = new Cleanup();
  const id = `l${randomBytes(2).toString("hex").slice(1)}`;
  const prefix = process.env.LOCAL_CLOUD_VPC_UPLINK ?? `10.216.${randomBytes(1)[0]! & 0xf8}`;
  const vpc = await createVpc(id, prefix, cleanup, { masqueradeAll: false });
  await run("ip", ["netns", "exec", vpc.namespace, "nft", "-f", "-"], {
    input: `table ip ${TABLE} {
  set egress { type ipv4_addr; flags interval; }
  map eip_in { type ipv4_addr : ipv4_addr; }
  map eip_out { type ipv4_addr : ipv4_addr; }
  chain prerouting {
    type nat hook prerouting priority dstnat - 10; policy accept;
    dnat to ip daddr map @eip_in
  }
  chain postrouting {
    type nat hook postrouting priority srcnat - 10; policy accept;
    oifname "uplink" snat to ip saddr map @eip_out
    ip saddr @egress oifname "uplink" masquerade
  }
}
`,
  });
  return { id, vpc, uplink: `${prefix}.2`, uplinkNet: `${prefix}.0/29`, subnets: new Set(), cleanup };
}

/** The sources allowed out (the NAT gateway's SNAT entries), replacing the previous ones. */
export async function setEgress(entry: VpcEntry, sourceCidrs: string[]): Promise<void> {
  await nft(entry, `flush set ip ${TABLE} egress`);
  if (sourceCidrs.length) await nft(entry, `add element ip ${TABLE} egress { ${sourceCidrs.join(", ")} }`);
}

/**
 * `address` (an EIP) in front of `privateAddress`. `inboundOnly`: no SNAT of the private
 * address's own traffic (a load balancer's listener address, whose backends answer through it).
 */
export async function mapEip(
  entry: VpcEntry,
  address: string,
  privateAddress: string,
  opts: { inboundOnly?: boolean } = {},
): Promise<void> {
  if (!opts.inboundOnly) await nft(entry, `add element ip ${TABLE} eip_out { ${privateAddress} : ${address} }`);
  await nft(entry, `add element ip ${TABLE} eip_in { ${address} : ${privateAddress} }`);
  await run("ip", ["route", "add", `${address}/32`, "via", entry.uplink]);
  entry.cleanup.add(`route to ${address}`, () => unroute(address));
}

/** The EIP's mapping and route gone; its SNAT too when the private address is given. */
export async function unmapEip(entry: VpcEntry, address: string, privateAddress?: string): Promise<void> {
  await nft(entry, `delete element ip ${TABLE} eip_in { ${address} }`, true);
  if (privateAddress) await nft(entry, `delete element ip ${TABLE} eip_out { ${privateAddress} }`, true);
  await unroute(address);
}

export async function unroute(address: string): Promise<void> {
  await run("ip", ["route", "del", `${address}/32`], { allowFailure: true });
}

async function nft(entry: VpcEntry, command: string, allowFailure = false): Promise<void> {
  await run("ip", ["netns", "exec", entry.vpc.namespace, "nft", command], { allowFailure });
}

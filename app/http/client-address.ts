import { BlockList, isIP } from "node:net";

/**
 * The client's address for rate limiting: the TCP peer, unless the peer is a trusted proxy, in
 * which case X-Forwarded-For is read from the right, skipping trusted hops, and the first
 * untrusted address wins. Entries left of it were written by the client and cannot be believed.
 */
export class ClientAddressResolver {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(trustedProxies: string[]) {
    for (const entry of trustedProxies) {
      const [address, bits] = entry.split("/") as [string, string | undefined];
      const type = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.trusted.addAddress(address, type);
      else this.trusted.addSubnet(address, Number(bits), type);
    }
    this.any = trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    if (!this.any) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.trusted.check(address, family === 6 ? "ipv6" : "ipv4");
  }

  resolve(peer: string | undefined, forwardedFor: string | undefined): string {
    let client = normalize(peer ?? "unknown");
    if (!forwardedFor || !this.isTrusted(client)) return client;
    const hops = forwardedFor.split(",").map((h) => normalize(h.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) break; // garbage: stop at the last address a trusted proxy vouched for
      client = hop;
      if (!this.isTrusted(hop)) break;
    }
    return client;
  }
}

/** `::ffff:1.2.3.4` (IPv4 on a dual-stack socket) is the IPv4 address 1.2.3.4. */
function normalize(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

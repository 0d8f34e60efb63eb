/**
 * Small IPv4 CIDR arithmetic for the stack configuration: the cluster topology derives its extra
 * subnets from the first one, and every subnet must lie inside the VPC and not overlap another.
 */

export interface Ipv4Range {
  /** First address as an unsigned 32-bit number. */
  start: number;
  prefix: number;
}

export function parseCidr(cidr: string): Ipv4Range {
  const [address, bits] = cidr.split("/") as [string, string];
  const n = address.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return { start: n - (n % size), prefix };
}

export function formatCidr(range: Ipv4Range): string {
  const n = range.start;
  return `${[24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".")}/${range.prefix}`;
}

const size = (r: Ipv4Range) => 2 ** (32 - r.prefix);

/** The block of the same size `steps` blocks after `cidr` (172.16.1.0/24 + 1 → 172.16.2.0/24). */
export function nextCidr(cidr: string, steps = 1): string {
  const r = parseCidr(cidr);
  return formatCidr({ start: r.start + steps * size(r), prefix: r.prefix });
}

export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  return i.prefix >= o.prefix && i.start >= o.start && i.start + size(i) <= o.start + size(o);
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.start < y.start + size(y) && y.start < x.start + size(x);
}

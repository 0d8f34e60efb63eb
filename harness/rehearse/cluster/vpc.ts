import { readFile, writeFile } from "node:fs/promises";
import type { Cleanup } from "../cleanup.js";
import type { PrivateNetwork } from "../network.js";
import { run } from "../shell.js";

/**
 * The cluster's network, built from network namespaces on this machine:
 *
 *   host ──veth── "vpc" namespace (the VPC's router and the NAT gateway)
 *     10.x.y.1      10.x.y.2 uplink; "EIPs" 10.x.y.3 (bastion) and 10.x.y.4 (load balancer),
 *                   forwarded (DNAT) to the private addresses
 *                   one bridge per subnet of the stack (172.16.1.0/24, 172.16.2.0/24, ...):
 *                   app servers, bastion and "RDS" hang off them, without public addresses
 *                   veth to the load balancer's namespace, which reaches the servers from
 *                   100.64.0.2 (CLB's layer-7 source range, 100.64.0.0/10)
 *
 * The host has no route into the VPC: it reaches the bastion and the load balancer through their
 * EIPs only, as a user on the Internet would. The app servers' outbound traffic is masqueraded
 * behind the uplink (the NAT gateway's SNAT entries), then by the host out to Debian's archive.
 */
export interface Vpc {
  id: string;
  /** The vpc namespace's name (for `ip netns exec`). */
  namespace: string;
  /** The host's end of the uplink: where the host's own servers (the Node.js mirror) listen. */
  hostAddress: string;
  bastionEip: string;
  loadBalancerEip: string;
  /** The load balancer's namespace and its address toward the servers. */
  loadBalancerNamespace: string;
  loadBalancerBackendAddress: string;
  /** Adds a subnet (a bridge with the gateway at .1) to the VPC. */
  addSubnet(cidr: string): Promise<void>;
  /** A namespace attached to a subnet with the given address (a server's NIC). */
  attach(name: string, address: string): Promise<PrivateNetwork & { namespace: string }>;
  /** Another address of the host on the uplink (.5 or .6): a second client on the Internet. */
  addHostAddress(last: 5 | 6): Promise<string>;
  /** Forwards an EIP's TCP port to a private address (the bastion's EIP association). */
  forward(eip: string, port: number, to: string): Promise<void>;
}

interface Subnet {
  prefix: string;
  bridge: string;
}

/**
 * `masqueradeAll: false` leaves the VPC without a way out: the caller adds its own NAT rules (the
 * stand-in's NAT gateway lets out only the subnets its SNAT entries name, harness/cloud/vpc-networks.ts).
 */
export async function createVpc(
  id: string,
  uplinkPrefix: string,
  cleanup: Cleanup,
  options: { masqueradeAll?: boolean } = {},
): Promise<Vpc> {
  const vpcNs = `todo-rc-${id}-vpc`;
  const lbNs = `todo-rc-${id}-lb`;
  const hostIf = `rc${id}u`;
  const table = `todo_cluster_${id}`;
  const hostAddress = `${uplinkPrefix}.1`;
  const uplinkAddress = `${uplinkPrefix}.2`;
  const bastionEip = `${uplinkPrefix}.3`;
  const loadBalancerEip = `${uplinkPrefix}.4`;
  const subnets: Subnet[] = [];
  let links = 0;

  const routes = (await run("ip", ["-4", "route", "show"])).stdout;
  if (routes.includes(`${uplinkPrefix}.0/`)) {
    throw new Error(
      `${uplinkPrefix}.0/29 is already routed on this host; set REHEARSAL_CLUSTER_SUBNET to a free prefix`,
    );
  }
  const inVpc = (...args: string[]) => run("ip", ["netns", "exec", vpcNs, ...args]);

  for (const ns of [vpcNs, lbNs]) {
    await run("ip", ["netns", "add", ns]);
    cleanup.add(`network namespace ${ns}`, async () => {
      await run("ip", ["netns", "delete", ns], { allowFailure: true });
    });
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }
  cleanup.add(`uplink ${hostIf}`, async () => {
    await run("ip", ["link", "delete", hostIf], { allowFailure: true });
  });
  await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", "uplink", "netns", vpcNs]);
  await run("ip", ["addr", "add", `${hostAddress}/29`, "dev", hostIf]);
  await run("ip", ["link", "set", hostIf, "up"]);
  for (const address of [uplinkAddress, bastionEip, loadBalancerEip]) {
    await run("ip", ["-n", vpcNs, "addr", "add", `${address}/29`, "dev", "uplink"]);
  }
  await run("ip", ["-n", vpcNs, "link", "set", "uplink", "up"]);
  await run("ip", ["-n", vpcNs, "route", "add", "default", "via", hostAddress]);
  await inVpc("sysctl", "-qw", "net.ipv4.ip_forward=1");

  // The load balancer's side: 100.64.0.1 (router) ↔ 100.64.0.2 (HAProxy), its EIP forwarded to :80.
  await run("ip", ["-n", vpcNs, "link", "add", "to-lb", "type", "veth", "peer", "name", "eth0", "netns", lbNs]);
  await run("ip", ["-n", vpcNs, "addr", "add", "100.64.0.1/30", "dev", "to-lb"]);
  await run("ip", ["-n", vpcNs, "link", "set", "to-lb", "up"]);
  await run("ip", ["-n", lbNs, "addr", "add", "100.64.0.2/30", "dev", "eth0"]);
  await run("ip", ["-n", lbNs, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", lbNs, "route", "add", "default", "via", "100.64.0.1"]);

  // NAT gateway: the private subnets out through the uplink; EIPs in through DNAT.
  await run("ip", ["netns", "exec", vpcNs, "nft", "-f", "-"], {
    input: `table ip vpc {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${loadBalancerEip} tcp dport 80 dnat to 100.64.0.2:80
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
${options.masqueradeAll === false ? "" : '    ip saddr 172.16.0.0/12 oifname "uplink" masquerade\n'}  }
}
`,
  });

  // The host: forwarding, and the uplink masqueraded out (as network.ts does for one server).
  const forwardingPath = "/proc/sys/net/ipv4/ip_forward";
  const forwarding = (await readFile(forwardingPath, "utf8")).trim();
  if (forwarding !== "1") {
    await writeFile(forwardingPath, "1\n");
    cleanup.add("IPv4 forwarding", () => writeFile(forwardingPath, `${forwarding}\n`));
  }
  await run("nft", ["-f", "-"], {
    input: `table ip ${table} {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${uplinkAddress} oifname != "${hostIf}" masquerade
  }
}
`,
  });
  cleanup.add(`nftables table ${table}`, async () => {
    await run("nft", ["delete", "table", "ip", table], { allowFailure: true });
  });

  const subnetOf = (address: string) => {
    const subnet = subnets.find((s) => address.startsWith(`${s.prefix}.`));
    if (!subnet) throw new Error(`${address} is in no subnet of the VPC (${subnets.map((s) => s.prefix).join(", ")})`);
    return subnet;
  };

  return {
    id,
    namespace: vpcNs,
    hostAddress,
    bastionEip,
    loadBalancerEip,
    loadBalancerNamespace: lbNs,
    loadBalancerBackendAddress: "100.64.0.2",
    async addSubnet(cidr: string) {
      const match = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(cidr);
      if (!match) throw new Error(`the rehearsal's VPC takes /24 subnets, not ${cidr}`);
      const bridge = `br${subnets.length + 1}`;
      await run("ip", ["-n", vpcNs, "link", "add", bridge, "type", "bridge"]);
      await run("ip", ["-n", vpcNs, "addr", "add", `${match[1]}.1/24`, "dev", bridge]);
      await run("ip", ["-n", vpcNs, "link", "set", bridge, "up"]);
      subnets.push({ prefix: match[1]!, bridge });
    },
    async attach(name: string, address: string) {
      const subnet = subnetOf(address);
      const ns = `todo-rc-${id}-${name}`;
      const port = `p${++links}`;
      await run("ip", ["netns", "add", ns]);
      cleanup.add(`network namespace ${ns}`, async () => {
        await run("ip", ["netns", "delete", ns], { allowFailure: true });
      });
      await run("ip", ["-n", vpcNs, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      await run("ip", ["-n", vpcNs, "link", "set", port, "master", subnet.bridge]);
      await run("ip", ["-n", vpcNs, "link", "set", port, "up"]);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      await run("ip", ["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      await run("ip", ["-n", ns, "route", "add", "default", "via", `${subnet.prefix}.1`]);
      return {
        namespace: ns,
        namespacePath: `/run/netns/${ns}`,
        hostAddress: `${subnet.prefix}.1`,
        containerAddress: address,
      };
    },
    async addHostAddress(last: 5 | 6) {
      const address = `${uplinkPrefix}.${last}`;
      await run("ip", ["addr", "add", `${address}/29`, "dev", hostIf]);
      return address;
    },
    async forward(eip: string, port: number, to: string) {
      await inVpc(
        "nft",
        "add",
        "rule",
        "ip",
        "vpc",
        "prerouting",
        "ip",
        "daddr",
        eip,
        "tcp",
        "dport",
        String(port),
        "dnat",
        "to",
        `${to}:${port}`,
      );
    },
  };
}

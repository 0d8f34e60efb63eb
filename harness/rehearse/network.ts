import { readFile, writeFile } from "node:fs/promises";
import { run } from "./shell.js";
import type { Cleanup } from "./cleanup.js";

/**
 * A private network for the container: a network namespace joined to the host by a veth pair
 * on a /30 of our own, with NAT out of the host so the container reaches Debian's archive as a
 * cloud server reaches its mirror. The host end also serves the Node.js mirror. Nothing of the
 * host's own interfaces or firewall is changed except IPv4 forwarding (restored afterwards) and
 * one nftables table of our own (deleted afterwards).
 */
export interface PrivateNetwork {
  /** Path for `systemd-nspawn --network-namespace-path=`. */
  namespacePath: string;
  hostAddress: string;
  containerAddress: string;
}

export async function createPrivateNetwork(
  id: string,
  subnetPrefix: string,
  cleanup: Cleanup,
): Promise<PrivateNetwork> {
  const netns = `todo-rh-${id}`;
  const hostIf = `rh${id}h`.slice(0, 15);
  const guestIf = `rh${id}c`.slice(0, 15);
  const hostAddress = `${subnetPrefix}.1`;
  const containerAddress = `${subnetPrefix}.2`;
  const table = `todo_rehearsal_${id}`;

  const routes = (await run("ip", ["-4", "route", "show"])).stdout;
  if (routes.includes(`${subnetPrefix}.0/`)) {
    throw new Error(
      `${subnetPrefix}.0/30 is already routed on this host; set REHEARSAL_SUBNET to a free 10.x.y prefix`,
    );
  }

  await run("ip", ["netns", "add", netns]);
  cleanup.add(`network namespace ${netns}`, async () => {
    // Deleting the namespace destroys the container end of the veth pair, and with it the host end.
    await run("ip", ["netns", "delete", netns], { allowFailure: true });
    await run("ip", ["link", "delete", hostIf], { allowFailure: true });
  });
  await run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", guestIf]);
  await run("ip", ["link", "set", guestIf, "netns", netns]);
  await run("ip", ["addr", "add", `${hostAddress}/30`, "dev", hostIf]);
  await run("ip", ["link", "set", hostIf, "up"]);
  await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
  await run("ip", ["-n", netns, "addr", "add", `${containerAddress}/30`, "dev", guestIf]);
  await run("ip", ["-n", netns, "link", "set", guestIf, "up"]);
  await run("ip", ["-n", netns, "route", "add", "default", "via", hostAddress]);

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
    ip saddr ${containerAddress} oifname != "${hostIf}" masquerade
  }
}
`,
  });
  cleanup.add(`nftables table ${table}`, async () => {
    await run("nft", ["delete", "table", "ip", table], { allowFailure: true });
  });

  return { namespacePath: `/run/netns/${netns}`, hostAddress, containerAddress };
}

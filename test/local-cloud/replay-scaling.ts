/**
 * The booter calls of a scaling group's servers in a recording of the whole stack
 * (`cluster-scaling`): the group starts and releases them itself, so no recorded RunInstances or
 * DeleteInstance implies them. Which instances they are is in the recorded Auto Scaling answers;
 * each must have been booted once from the scaling configuration (its user data, the key pair's
 * public key) and removed once.
 */
import type { BootRequest } from "../../local-cloud/booter.js";
import type { LoggedCall } from "../../local-cloud/call-log.js";

export interface GroupBoots {
  /** The group's instances, as the replay named them. */
  readonly instanceIds: ReadonlySet<string>;
  /** What each must have had from the booter: booted from the configuration, then removed. */
  expected(instanceId: string): unknown[][];
}

export function groupBoots(recorded: LoggedCall[], fresh: (id: unknown) => string): GroupBoots {
  const instanceIds = new Set<string>();
  let userData = "";
  const keys = new Map<string, string>();
  let keyPair = "";
  for (const c of recorded.filter((x) => x.protocol === "openapi" && x.status === 200)) {
    const p = c.params as Record<string, any>;
    if (c.action === "ImportKeyPair") keys.set(p.KeyPairName, p.PublicKey);
    if (c.action === "CreateScalingConfiguration") {
      userData = Buffer.from(p.UserData ?? "", "base64").toString("utf8");
      keyPair = p.KeyPairName;
    }
    if (c.action === "DescribeScalingInstances")
      for (const i of (c.result as { ScalingInstances?: { InstanceId: string }[] }).ScalingInstances ?? [])
        instanceIds.add(fresh(i.InstanceId));
  }
  return {
    instanceIds,
    expected: (instanceId) => [
      ["run", { instanceId, userData, publicKeys: [keys.get(keyPair)] }],
      ["remove", instanceId],
    ],
  };
}

/** The instance a booter call is about. */
export function bootedInstance(call: unknown[]): string {
  return call[0] === "run" ? (call[1] as BootRequest).instanceId : String(call[1]);
}

/**
 * The network booter's calls with the group's own membership changes taken out: the group adds
 * and removes its servers in the load balancer's server group itself, so no recorded call implies
 * those forwarding changes. A `loadBalancer` call that differs from the one before only by the
 * group's servers is dropped; the others lose the group's servers from their member lists.
 * Also returns the group's servers that ever were in the forwarding (each must have been).
 */
export function withoutGroupMembers(
  calls: unknown[][],
  groupIds: ReadonlySet<string>,
): { calls: unknown[][]; forwarded: Set<string> } {
  const forwarded = new Set<string>();
  const strip = (ports: string[] | undefined) =>
    ports?.map((entry) => {
      const [port, members = ""] = entry.split(":");
      const kept = members.split(",").filter((m) => {
        if (groupIds.has(m)) forwarded.add(m);
        return m && !groupIds.has(m);
      });
      return `${port}:${kept.join(",")}`;
    });
  const last = new Map<string, { raw: string; stripped: string }>();
  const out: unknown[][] = [];
  for (const call of calls) {
    if (call[0] !== "loadBalancer") {
      out.push(call);
      continue;
    }
    const lb = String(call[1]);
    const stripped = strip(call[2] as string[] | undefined);
    const now = { raw: JSON.stringify(call[2]), stripped: JSON.stringify(stripped) };
    const before = last.get(lb);
    last.set(lb, now);
    if (before && before.raw !== now.raw && before.stripped === now.stripped) continue;
    out.push([call[0], call[1], stripped]);
  }
  return { calls: out, forwarded };
}

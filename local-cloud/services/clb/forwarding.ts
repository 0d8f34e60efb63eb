import type { Call } from "../../api.js";
import type { ListenerForwarding, LoadBalancerForwarding } from "../../network-booter.js";
import type { Store } from "../../store.js";

/**
 * What a load balancer forwards, as its records say: its address, and per listener the port,
 * scheduler, health check and the members of its server group. The stand-in hands it to the
 * network booter after every change (announceForwarding), so a booter configures its forwarder
 * from the records alone (harness/cloud/clb-forwarder.ts: HAProxy).
 */
export function forwardingOf(store: Store, loadBalancerId: string): LoadBalancerForwarding | undefined {
  const clb = store.get("clb", loadBalancerId);
  if (!clb || clb.fields.Status === "Deleting") return undefined;
  const listeners = store
    .all("clb-listener")
    .filter((l) => l.fields.LoadBalancerId === clb.id)
    .map((l): ListenerForwarding => {
      const hc = (l.fields.HealthCheck ?? {}) as Record<string, unknown>;
      const group = store.get("clb-server-group", String(l.fields.ServerGroupId));
      const servers = (group?.fields.Servers ?? []) as Record<string, unknown>[];
      return {
        listenerId: l.id,
        protocol: String(l.fields.Protocol),
        port: Number(l.fields.Port),
        enabled: String(l.fields.Enabled ?? "on"),
        scheduler: String(l.fields.Scheduler ?? "wrr"),
        healthCheck: {
          enabled: String(hc.Enabled ?? "off"),
          ...(hc.Method !== undefined ? { method: String(hc.Method) } : {}),
          ...(hc.Uri !== undefined ? { uri: String(hc.Uri) } : {}),
          ...(hc.HttpCode !== undefined ? { httpCode: String(hc.HttpCode) } : {}),
          ...(hc.Interval !== undefined ? { interval: Number(hc.Interval) } : {}),
          ...(hc.Timeout !== undefined ? { timeout: Number(hc.Timeout) } : {}),
          ...(hc.HealthyThreshold !== undefined ? { healthyThreshold: Number(hc.HealthyThreshold) } : {}),
          ...(hc.UnHealthyThreshold !== undefined ? { unhealthyThreshold: Number(hc.UnHealthyThreshold) } : {}),
        },
        servers: servers.map((s) => ({
          instanceId: String(s.InstanceId),
          ip: String(s.Ip),
          port: Number(s.Port),
          weight: Number(s.Weight),
        })),
      };
    })
    .sort((a, b) => a.port - b.port);
  return {
    vpcId: String(clb.fields.VpcId),
    type: String(clb.fields.Type),
    address: String(clb.fields.Type === "public" ? clb.fields.EipAddress : clb.fields.EniAddress),
    listeners,
  };
}

/** Tells the network booter what the load balancer forwards now (undefined once it is being deleted). */
export function announceForwarding(call: Call, loadBalancerId: string): void {
  call.network?.loadBalancer(loadBalancerId, forwardingOf(call.store, loadBalancerId));
}

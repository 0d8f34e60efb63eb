import { mkdir } from "node:fs/promises";
import type { ListenerForwarding, LoadBalancerForwarding } from "../../local-cloud/network-booter.js";
import type { Cleanup } from "../rehearse/cleanup.js";
import { LoadBalancer, type ListenerSpec, type Member } from "../rehearse/cluster/load-balancer.js";

/**
 * The stand-in's CLB forwarding through the cluster rehearsal's HAProxy (load-balancer.ts), in the
 * VPC's load-balancer namespace: the listener from the records (port, scheduler, health check) and
 * the server group's members as they are added and removed (HAProxy's runtime API, no reload).
 * One HTTP listener per load balancer is rehearsed (the stack has one; HTTPS needs certificate files).
 */

/** Volcengine's defaults for a health-check field the listener leaves out (CreateListener). */
const HEALTH_DEFAULTS = { interval: 2, timeout: 2, healthyThreshold: 3, unhealthyThreshold: 3 };

/** The HTTP listener HAProxy serves: the only enabled one, or an error saying why not. */
export function forwardedListener(fw: LoadBalancerForwarding): ListenerForwarding | undefined {
  const enabled = fw.listeners.filter((l) => l.enabled === "on");
  const other = enabled.find((l) => l.protocol !== "HTTP");
  if (other) throw new Error(`listener ${other.listenerId}: ${other.protocol} is not rehearsed (HTTP only)`);
  if (enabled.length > 1) throw new Error(`${enabled.length} HTTP listeners: one per load balancer is rehearsed`);
  return enabled[0];
}

export function listenerSpecOf(l: ListenerForwarding): ListenerSpec {
  const hc = l.healthCheck;
  return {
    port: l.port,
    scheduler: l.scheduler,
    healthCheck: {
      enabled: hc.enabled,
      method: hc.method,
      uri: hc.uri ?? "/",
      http_code: hc.httpCode,
      interval: hc.interval ?? HEALTH_DEFAULTS.interval,
      timeout: hc.timeout ?? HEALTH_DEFAULTS.timeout,
      healthy_threshold: hc.healthyThreshold ?? HEALTH_DEFAULTS.healthyThreshold,
      un_healthy_threshold: hc.unhealthyThreshold ?? HEALTH_DEFAULTS.unhealthyThreshold,
    },
  };
}

/** The group's members as HAProxy servers, named by address and port (what identifies a member). */
export function membersOf(l: ListenerForwarding): Member[] {
  return l.servers.map((s) => ({
    name: `${s.instanceId}-${s.port}`,
    address: s.ip,
    port: s.port,
    weight: s.weight,
  }));
}

export class ClbForwarder {
  private lb: LoadBalancer | undefined;
  private spec = "";

  constructor(
    private readonly namespace: string,
    private readonly dir: string,
    private readonly cleanup: Cleanup,
  ) {}

  get haproxy(): LoadBalancer | undefined {
    return this.lb;
  }

  /** Makes HAProxy forward what the records say now. */
  async apply(fw: LoadBalancerForwarding): Promise<void> {
    const listener = forwardedListener(fw);
    const spec = listener ? JSON.stringify(listenerSpecOf(listener)) : "";
    if (spec !== this.spec) {
      // A new or changed listener: HAProxy starts again with it (connections on the old one close).
      await this.stop();
      this.spec = spec;
      if (!listener) return;
      await mkdir(this.dir, { recursive: true });
      this.lb = new LoadBalancer(this.namespace, this.dir, listenerSpecOf(listener), this.cleanup);
    }
    if (listener && this.lb) await this.lb.setMembers(membersOf(listener));
  }

  async stop(): Promise<void> {
    await this.lb?.stop();
    this.lb = undefined;
    this.spec = "";
  }
}

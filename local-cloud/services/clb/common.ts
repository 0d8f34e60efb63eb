import type { Call } from "../../api.js";
import { ApiError, notFound } from "../../errors.js";
import { required, type Params } from "../../params.js";
import type { Resource } from "../../store.js";

/** What the load balancer, listener and server group calls share: typed answers, lookups, the Active rule. */
export const ACCOUNT = "2100000000";
export const SPECS = ["small_1", "small_2", "medium_1", "medium_2", "large_1", "large_2"];
/** Query parameters are strings; these are numbers in the API's answers. */
export const NUMERIC =
  /^(Port|Weight|Interval|Timeout|HealthyThreshold|UnHealthyThreshold|EstablishedTimeout|Bandwidth|EipBillingType|LoadBalancerBillingType|PersistenceTimeout|ConnectionDrainTimeout|Udp.*|ProxyProtocolType|Period)$/i;
export const BOOLEAN = /^(CookieEnabled|ConnectionDrainEnabled)$/;

export function typed(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => typed(x, key));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typed(x, k)]));
  if (typeof v === "string" && NUMERIC.test(key) && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === "string" && BOOLEAN.test(key)) return v === "true";
  return v;
}

/**
 * The listener calls send `HealthCheck.URI` and `HealthCheck.UnhealthyThreshold`; DescribeListeners
 * answers `Uri` and `UnHealthyThreshold` (the provider's listeners data source reads those names).
 */
export function withHealthCheckNames(p: Params): Params {
  const h = p.HealthCheck as Params | undefined;
  if (!h) return p;
  const { URI, UnhealthyThreshold, ...rest } = h;
  return {
    ...p,
    HealthCheck: {
      ...rest,
      ...(URI !== undefined ? { Uri: URI } : {}),
      ...(UnhealthyThreshold !== undefined ? { UnHealthyThreshold: UnhealthyThreshold } : {}),
    },
  };
}

export function get(call: Call, kind: string, id: string, what: string, code: string): Resource {
  const r = call.store.get(kind, id);
  if (!r) throw notFound(what, id).withCode(code);
  return r;
}

export const clbOf = (call: Call, id = required(call.params, "LoadBalancerId")) =>
  get(call, "clb", id, "load balancer", "InvalidLoadBalancer.NotFound");

/** Changes are refused while the load balancer is not Active (CLB docs: "the instance status must be Active"). */
export function activeClb(call: Call, id?: string): Resource {
  const clb = clbOf(call, id);
  if (clb.fields.Status !== "Active")
    throw new ApiError(
      409,
      "IncorrectStatus.LoadBalancer",
      `The load balancer ${clb.id} is ${String(clb.fields.Status)}, not Active.`,
    );
  return clb;
}

export const configuring = (call: Call, clb: Resource) => call.store.transition(clb, "Configuring", "Active");

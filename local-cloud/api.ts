import type { Params } from "./params.js";
import type { Store } from "./store.js";
import type { InstanceBooter } from "./booter.js";
import type { NetworkBooter } from "./network-booter.js";

/** One OpenAPI call as a service's action handler sees it. */
export interface Call {
  service: string;
  action: string;
  version: string;
  region: string;
  params: Params;
  store: Store;
  /** Boots instances as real servers (local-cloud/booter.ts); absent: instances are records only. */
  booter?: InstanceBooter;
  /** Builds NAT egress, CLB forwarding and RDS's PostgreSQL (local-cloud/network-booter.ts); absent: records only. */
  network?: NetworkBooter;
}

/** Returns the `Result` of the call, or throws an ApiError. */
export type Action = (call: Call) => unknown;

/** A service's actions by name (`CreateVpc`...), keyed in the registry by the signing service name. */
export type Service = Record<string, Action>;

/** Describe* lists: page with PageNumber/PageSize (1-based) and answer with the counts the SDK reads. */
export function page<T>(items: T[], params: Params, listName: string): Record<string, unknown> {
  const size = Number(params.PageSize ?? params.MaxResults ?? 100) || 100;
  const number = Number(params.PageNumber ?? 1) || 1;
  const slice = items.slice((number - 1) * size, number * size);
  return { [listName]: slice, TotalCount: items.length, PageNumber: number, PageSize: size, NextToken: "" };
}

/** The resources of `kind` a Describe* call asks for: by the ids list (all when empty) and, if given, one parent field. */
export function selected(call: Call, kind: string, idsParam: string, parent?: string) {
  const ids = call.params[idsParam] === undefined ? [] : ([] as unknown[]).concat(call.params[idsParam]).map(String);
  const value = parent === undefined ? undefined : call.params[parent];
  return call.store
    .all(kind)
    .filter(
      (r) => (ids.length === 0 || ids.includes(r.id)) && (value === undefined || r.fields[parent!] === String(value)),
    );
}

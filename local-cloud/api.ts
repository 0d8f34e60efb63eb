import type { Params } from "./params";
import type { Store } from "./store";
import type { InstanceBooter } from "./booter";

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

import forceNewFile from "../provider/volcengine.force-new.json" with { type: "json" };

/**
 * What makes a resource the resource it is, read from the synthesized configuration and the
 * provider's ForceNew facts (infra/provider/volcengine.force-new.json, from the provider's source):
 * the values of its ForceNew attributes that are not in `ignore_changes`, and, where such a value
 * refers to another resource (`${volcengine_subnet.x.id}`), that resource's address and identity,
 * recursively. Two configurations give a resource the same identity exactly when Terraform keeps
 * it: a different identity is a replacement (a changed CIDR reaches RDS through its subnet's
 * `cidr_block` and RDS's `subnet_id`), a missing one a destroy.
 */
export type ForceNewFacts = Readonly<Record<string, readonly string[]>>;

export const FORCE_NEW: ForceNewFacts = Object.fromEntries(
  Object.entries(forceNewFile).filter(([key]) => key !== "//") as [string, string[]][],
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type TerraformJson = { resource?: Record<string, Record<string, Record<string, Json>>> } & Record<
  string,
  unknown
>;

const REFERENCE = /\b((?:volcengine|null|terraform)_[a-z0-9_]+)\.([\w-]+)\.[a-z_]/g;

/** `type.name` of every resource in the configuration of the given types. */
export function addressesOf(tf: TerraformJson, type: string): string[] {
  return Object.keys(tf.resource?.[type] ?? {}).map((name) => `${type}.${name}`);
}

/** The identity of the resource at `address` (see above), as a plain JSON value; undefined if absent. */
export function identityOf(tf: TerraformJson, address: string, facts: ForceNewFacts = FORCE_NEW): Json | undefined {
  const [type, name] = address.split(".") as [string, string];
  if (!tf.resource?.[type]?.[name]) return undefined;
  return resolveIdentity(tf, address, facts, new Set([address]));
}

/** Canonical text of a JSON value (object keys sorted), for comparing identities as strings. */
export function canonical(value: Json | undefined): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

function valueAt(body: Json, path: string[]): Json | undefined {
  if (path.length === 0) return body;
  if (Array.isArray(body)) {
    const values = body.map((item) => valueAt(item, path)).filter((v): v is Json => v !== undefined);
    return values.length ? values : undefined;
  }
  if (body && typeof body === "object") {
    const next = body[path[0]!];
    return next === undefined ? undefined : valueAt(next, path.slice(1));
  }
  return undefined;
}

function resolveReferences(tf: TerraformJson, value: Json, facts: ForceNewFacts, seen: Set<string>): Json {
  if (typeof value === "string") {
    const refs = [...value.matchAll(REFERENCE)].map((m) => `${m[1]}.${m[2]}`);
    if (refs.length === 0) return value;
    const of: Record<string, Json> = {};
    for (const ref of [...new Set(refs)].sort()) {
      if (seen.has(ref)) continue;
      const [type, name] = ref.split(".") as [string, string];
      const body = tf.resource?.[type]?.[name];
      of[ref] = body ? resolveIdentity(tf, ref, facts, new Set([...seen, ref])) : null;
    }
    return { expression: value, of };
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(tf, v, facts, seen));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(tf, v, facts, seen)]));
  return value;
}

function resolveIdentity(tf: TerraformJson, address: string, facts: ForceNewFacts, seen: Set<string>): Json {
  const [type, name] = address.split(".") as [string, string];
  const body = tf.resource?.[type]?.[name] as Record<string, Json>;
  const lifecycle = body.lifecycle as { ignore_changes?: string[] | "all" } | undefined;
  if (lifecycle?.ignore_changes === "all") return {};
  const ignored = new Set((lifecycle?.ignore_changes ?? []).map((a) => a.split(/[.[]/)[0]!));
  const out: Record<string, Json> = {};
  for (const path of facts[type] ?? []) {
    if (ignored.has(path.split(".")[0]!)) continue;
    const value = valueAt(body, path.split("."));
    if (value !== undefined) out[path] = resolveReferences(tf, value, facts, seen);
  }
  return out;
}

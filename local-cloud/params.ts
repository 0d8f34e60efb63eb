import { invalid, missing } from "./errors.js";

/** A request's parameters as one nested object, whether they came as a query, a form or JSON. */
export type Params = Record<string, unknown>;

/**
 * `A.1.B=x&A.2.B=y&C=z` (the SDK's query flattening, 1-based) → `{A: [{B: "x"}, {B: "y"}], C: "z"}`.
 * Scalars stay strings: the query protocol has no types, handlers convert what they need.
 */
export function unflatten(flat: Record<string, string>): Params {
  const root: Params = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node: Record<string, unknown> = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]!);
      if (last) node[part] = value;
      else node = (node[part] ??= nextIsIndex ? {} : {}) as Record<string, unknown>;
    });
  }
  return arraysFromIndexes(root) as Params;
}

/** Objects whose keys are all 1-based indexes become arrays (in index order). */
function arraysFromIndexes(v: unknown): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, arraysFromIndexes(x)] as const);
  if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) {
    return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, x]) => x);
  }
  return Object.fromEntries(entries);
}

export function str(p: Params, name: string): string | undefined {
  const v = p[name];
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : String(v);
}

export function required(p: Params, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === "") throw missing(name);
  return v;
}

export function num(p: Params, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalid(name, `"${v}" is not a number`);
  return n;
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  return v === true || v === "true";
}

export function list(p: Params, name: string): unknown[] {
  const v = p[name];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function strings(p: Params, name: string): string[] {
  return list(p, name).map(String);
}

export interface Tag {
  Key: string;
  Value: string;
}

export function tags(p: Params, name = "Tags"): Tag[] {
  return list(p, name).map((t) => {
    const o = t as Record<string, unknown>;
    return { Key: String(o.Key ?? ""), Value: String(o.Value ?? "") };
  });
}

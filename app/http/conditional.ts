import type { Context } from "hono";
import type { VersionMatch } from "../services/todos.service.js";

/** A todo's ETag: its version, as a strong entity tag (quotes included). */
export const etagOf = (version: number) => `"${version}"`;

/** The entity tags of an If-Match / If-None-Match list, or "any" for `*`. */
function parseList(header: string): "any" | Array<{ weak: boolean; tag: string }> {
  if (header.trim() === "*") return "any";
  const tags: Array<{ weak: boolean; tag: string }> = [];
  for (const m of header.matchAll(/(W\/)?"([^"]*)"/g)) tags.push({ weak: m[1] !== undefined, tag: m[2]! });
  return tags;
}

/**
 * `If-Match` as the write path needs it (RFC 9110 §13.1.1, strong comparison): undefined without
 * the header; "any" for `*`; else the versions named by strong tags. A weak or foreign tag can
 * never match, so `If-Match: "stale"` is 412, not ignored.
 */
export function ifMatch(c: Context): VersionMatch | undefined {
  return parseIfMatch(c.req.header("if-match"));
}

/** An `If-Match` value (a header, or a batch operation's `if_match`) as the write path needs it. */
export function parseIfMatch(header: string | undefined): VersionMatch | undefined {
  if (header === undefined) return undefined;
  const list = parseList(header);
  if (list === "any") return "any";
  return list.filter((t) => !t.weak && /^[1-9]\d{0,9}$/.test(t.tag)).map((t) => Number(t.tag));
}

/** `If-None-Match` uses weak comparison (RFC 9110 §13.1.2): true when the client's copy is current. */
export function noneMatchHits(c: Context, version: number): boolean {
  const header = c.req.header("if-none-match");
  if (header === undefined) return false;
  const list = parseList(header);
  return list === "any" || list.some((t) => t.tag === String(version));
}

import type { Context } from "hono";
import { badRequest } from "../errors.js";
import type { VersionMatch } from "../services/todos.service.js";

/** A todo's ETag: its version, as a strong entity tag (quotes included). */
export const etagOf = (version: number) => `"${version}"`;

/** A client holds one version of a todo; a list longer than this is not a client's. */
export const MAX_ENTITY_TAGS = 64;
/** Versions are PostgreSQL `integer`s: a larger number names no version that can exist. */
const MAX_VERSION = 2_147_483_647;

/** The entity tags of an If-Match / If-None-Match list, or "any" for `*`; 400 over MAX_ENTITY_TAGS. */
function parseList(header: string): "any" | Array<{ weak: boolean; tag: string }> {
  if (header.trim() === "*") return "any";
  const tags: Array<{ weak: boolean; tag: string }> = [];
  for (const m of header.matchAll(/(W\/)?"([^"]*)"/g)) {
    if (tags.length === MAX_ENTITY_TAGS)
      throw badRequest(`An If-Match or If-None-Match list may name at most ${MAX_ENTITY_TAGS} entity tags.`);
    tags.push({ weak: m[1] !== undefined, tag: m[2]! });
  }
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
  // A version out of the column's range can match nothing: it is dropped here (412 if none is left),
  // never sent to PostgreSQL, which would refuse it as out of range.
  return list
    .filter((t) => !t.weak && /^[1-9]\d{0,9}$/.test(t.tag))
    .map((t) => Number(t.tag))
    .filter((v) => v <= MAX_VERSION);
}

/** `If-None-Match` uses weak comparison (RFC 9110 §13.1.2): true when the client's copy is current. */
export function noneMatchHits(c: Context, version: number): boolean {
  const header = c.req.header("if-none-match");
  if (header === undefined) return false;
  const list = parseList(header);
  return list === "any" || list.some((t) => t.tag === String(version));
}

import type { Hook } from "@hono/zod-openapi";
import type { z } from "zod";
import { badRequest, notFound, validationFailed, type ErrorDetail } from "../errors.js";
import type { AppEnv } from "./app-env.js";

/** Zod issues → the contract's `details`: one entry per failing field, unknown fields included. */
export function issuesToDetails(error: z.ZodError): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ path: [...base, key].join("."), message: "is not a known field" });
    } else if (issue.code === "invalid_type" && /received undefined$/.test(issue.message)) {
      details.push({ path: base.join("."), message: "is required" });
    } else {
      details.push({ path: base.join("."), message: issue.message });
    }
  }
  return details;
}

/** No request body of this API nests deeper than a few levels; 32 leaves room and bounds the work. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed value nests deeper than `max` arrays/objects. Iterative, so a hostile body
 * (60 KB of `[`) costs one pass over its values and never the call stack.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Every string field that holds a NUL (U+0000), by path. PostgreSQL text cannot store one (it
 * would be a 500), and no user means one, so it is refused with the field named.
 */
export function nulFields(value: unknown, path: string[] = [], found: ErrorDetail[] = []): ErrorDetail[] {
  if (typeof value === "string") {
    if (value.includes("\u0000"))
      found.push({ path: path.join("."), message: "must not contain a NUL character (U+0000)" });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      nulFields(v, [...path, String(i)], found);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) nulFields(v, [...path, k], found);
  }
  return found;
}

/**
 * Shared by every router: a failing body or query is 422 with details; a path parameter that is
 * not a valid id can only name a resource that does not exist, so it is 404. A NUL in any string
 * of a body or query is 422 too, naming the field, whether or not the rest passed.
 */
export const validationHook: Hook<unknown, AppEnv, string, void> = (result) => {
  if (result.target === "param") {
    if (!result.success) throw notFound();
    return;
  }
  if (result.target === "header") {
    if (!result.success) throw validationFailed(issuesToDetails(result.error));
    return;
  }
  // On failure the hook still receives the raw input as `data` (@hono/zod-validator).
  const data = (result as { data?: unknown }).data;
  if (nestsDeeperThan(data, MAX_JSON_DEPTH))
    throw badRequest(`The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  const nul = nulFields(data);
  if (result.success) {
    if (nul.length > 0) throw validationFailed(nul);
    return;
  }
  const details = issuesToDetails(result.error);
  for (const d of nul) if (!details.some((e) => e.path === d.path)) details.push(d);
  throw validationFailed(details);
};

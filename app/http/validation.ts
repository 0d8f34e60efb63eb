import type { Hook } from "@hono/zod-openapi";
import type { z } from "zod";
import { notFound, validationFailed, type ErrorDetail } from "../errors.js";
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

/**
 * Shared by every router: a failing body or query is 422 with details; a path parameter that is
 * not a valid id can only name a resource that does not exist, so it is 404.
 */
export const validationHook: Hook<unknown, AppEnv, string, void> = (result) => {
  if (result.success) return;
  if (result.target === "param") throw notFound();
  throw validationFailed(issuesToDetails(result.error));
};

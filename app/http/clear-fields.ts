import { validationFailed } from "../errors.js";

/**
 * `clear: [name, …]` in an update body: those fields set to null. Generated clients that drop JSON
 * nulls (Gson, moshi, Swift) clear a field this way; a null for the field itself still works too.
 * Naming a field here and giving it a value in the same body is a 422 (which one wins is a guess).
 */
export function applyClear<F extends string, B extends { clear?: F[] | undefined } & Partial<Record<F, unknown>>>(
  body: B,
): Omit<B, "clear"> {
  const { clear, ...rest } = body;
  const changes: Record<string, unknown> = rest;
  const both = (clear ?? []).filter((field) => changes[field] !== undefined && changes[field] !== null);
  if (both.length > 0) {
    throw validationFailed(
      both.map((field) => ({
        path: "clear",
        message: `names ${field}, which the body also sets: send one or the other`,
      })),
    );
  }
  for (const field of clear ?? []) changes[field] = null;
  return rest;
}

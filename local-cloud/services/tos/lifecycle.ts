import { ApiError } from "../../errors.js";
import { bucketOf, get, type TosAction } from "./request.js";

/** A bucket's lifecycle rules (`?lifecycle`). */

/** Field names the provider sends with other capitals than it reads back (NonCurrent... vs Noncurrent...). */
const CANONICAL = [
  "ID",
  "Prefix",
  "Status",
  "Expiration",
  "Days",
  "Date",
  "Transitions",
  "StorageClass",
  "NoncurrentVersionExpiration",
  "NoncurrentVersionTransitions",
  "NoncurrentDays",
  "Tags",
  "Key",
  "Value",
  "Filter",
  "ObjectSizeGreaterThan",
  "ObjectSizeLessThan",
  "AbortIncompleteMultipartUpload",
  "DaysAfterInitiation",
  "Rules",
];

/**
 * The rules as TOS understands them. "case-folded": a name matches whatever its capitals; "exact":
 * only TOS's documented names, the others are ignored (answers.ts, lifecycleFieldNames).
 */
function canonical(v: unknown, exact: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => canonical(x, exact));
  if (!v || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v).flatMap(([k, x]) => {
      const name = exact ? CANONICAL.find((c) => c === k) : CANONICAL.find((c) => c.toLowerCase() === k.toLowerCase());
      if (exact && !name) return [];
      return [[name ?? k, canonical(x, exact)]];
    }),
  );
}

const PutBucketLifecycle: TosAction = (r) => {
  const b = bucketOf(r);
  const rules = get(canonical(r.json, r.store.answers.lifecycleFieldNames === "exact"), "Rules") as
    | Record<string, unknown>[]
    | undefined;
  if (!Array.isArray(rules) || rules.length === 0)
    throw new ApiError(400, "MalformedLifecycleConfiguration", "The lifecycle configuration needs at least one rule.");
  if (rules.length > 1000)
    throw new ApiError(400, "MalformedLifecycleConfiguration", "A bucket has at most 1000 lifecycle rules.");
  const ids = new Set<string>();
  for (const rule of rules) {
    const id = String(rule.ID ?? "");
    if (!id || id.length > 255)
      throw new ApiError(400, "InvalidArgument", "Every lifecycle rule needs an ID of 1-255 characters.");
    if (ids.has(id)) throw new ApiError(400, "InvalidArgument", `Lifecycle rule ID ${id} is used twice.`);
    ids.add(id);
    if (rule.Status !== "Enabled" && rule.Status !== "Disabled")
      throw new ApiError(400, "InvalidArgument", `Rule ${id}: Status must be Enabled or Disabled.`);
    const actions = [
      "Expiration",
      "Transitions",
      "NoncurrentVersionExpiration",
      "NoncurrentVersionTransitions",
      "AbortIncompleteMultipartUpload",
    ].filter((a) => rule[a] !== undefined);
    if (actions.length === 0) throw new ApiError(400, "InvalidArgument", `Rule ${id} has no action.`);
    for (const [field, days] of [
      ["Expiration", "Days"],
      ["NoncurrentVersionExpiration", "NoncurrentDays"],
      ["AbortIncompleteMultipartUpload", "DaysAfterInitiation"],
    ] as const) {
      const n = get(rule, field, days);
      if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 1))
        throw new ApiError(
          400,
          "InvalidArgument",
          `Rule ${id}: ${field}.${days} must be a whole number of days, at least 1.`,
        );
    }
  }
  r.store.update(b, { Lifecycle: rules });
};

const GetBucketLifecycle: TosAction = (r) => {
  const rules = bucketOf(r).fields.Lifecycle;
  if (!rules)
    throw new ApiError(404, "NoSuchLifecycleConfiguration", `The bucket ${r.bucket} has no lifecycle configuration.`);
  return { body: { Rules: rules } };
};

const DeleteBucketLifecycle: TosAction = (r) => {
  const b = bucketOf(r);
  delete b.fields.Lifecycle;
  r.store.update(b, {});
  return { status: 204 };
};

export const lifecycleActions: Record<string, TosAction> = {
  PutBucketLifecycle,
  GetBucketLifecycle,
  DeleteBucketLifecycle,
};

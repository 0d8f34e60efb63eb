import type { IncomingHttpHeaders } from "node:http";
import { createHash } from "node:crypto";
import { ApiError } from "../../errors.js";
import type { Resource, Store } from "../../store.js";

/**
 * TOS buckets: the bucket, its lifecycle rules, versioning, tags, storage class and ACL, and the
 * objects in it (only so that "a bucket must be empty to be deleted" can be checked). Error codes
 * are TOS's (docs "TOS 错误码", the S3 names: NoSuchBucket, BucketNotEmpty, NoSuchLifecycleConfiguration...).
 */
export interface TosRequest {
  method: string;
  bucket: string;
  key: string;
  region: string;
  body: Buffer;
  json: unknown;
  headers: IncomingHttpHeaders;
  store: Store;
  requestId: string;
}

export interface TosAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

// biome-ignore lint/suspicious/noConfusingVoidType: an action that answers nothing falls through to the default 200
type TosAction = (r: TosRequest) => TosAnswer | void;

/** The account every stand-in resource belongs to (the same id the OpenAPI services answer with). */
const OWNER = "2100000000";

/** TOS bucket names: 3-63 characters, lowercase letters, digits and "-", not starting or ending with "-" (TOS docs). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const STORAGE_CLASSES = [
  "STANDARD",
  "IA",
  "ARCHIVE_FR",
  "INTELLIGENT_TIERING",
  "COLD_ARCHIVE",
  "ARCHIVE",
  "DEEP_COLD_ARCHIVE",
];

function bucketOf(r: TosRequest): Resource {
  const b = r.store.get("tos-bucket", r.bucket);
  if (!b) throw new ApiError(404, "NoSuchBucket", `The specified bucket ${r.bucket} does not exist.`);
  return b;
}

function objects(b: Resource): Record<string, { Size: number; ETag: string; LastModified: string }> {
  return (b.fields.Objects ??= {}) as Record<string, { Size: number; ETag: string; LastModified: string }>;
}

const CreateBucket: TosAction = (r) => {
  if (!BUCKET_NAME.test(r.bucket))
    throw new ApiError(
      400,
      "InvalidBucketName",
      `The specified bucket name ${r.bucket} is not valid: 3-63 lowercase letters, digits or "-", not starting or ending with "-".`,
    );
  if (r.store.get("tos-bucket", r.bucket))
    throw new ApiError(
      409,
      "BucketAlreadyOwnedByYou",
      `Your previous request to create the named bucket ${r.bucket} succeeded and you already own it.`,
    );
  const storageClass = header(r, "x-tos-storage-class") ?? "STANDARD";
  if (!STORAGE_CLASSES.includes(storageClass))
    throw new ApiError(400, "InvalidStorageClass", `The storage class ${storageClass} is not valid.`);
  const acl = header(r, "x-tos-acl") ?? "private";
  r.store.create("tos-bucket", r.bucket, {
    Name: r.bucket,
    Location: r.region,
    CreationDate: new Date(r.store.clock()).toISOString().replace(/\.\d+Z$/, ".000Z"),
    ExtranetEndpoint: `tos-${r.region}.volces.com`,
    IntranetEndpoint: `tos-${r.region}.ivolces.com`,
    ProjectName: header(r, "x-tos-project-name") ?? "default",
    BucketType: header(r, "x-tos-bucket-type") ?? "fns",
    StorageClass: storageClass,
    AzRedundancy: header(r, "x-tos-az-redundancy") ?? "single-az",
    Acl: acl,
    Versioning: "",
    Objects: {},
  });
  return { headers: { location: `/${r.bucket}` } };
};

const HeadBucket: TosAction = (r) => {
  const b = bucketOf(r);
  return {
    headers: {
      "x-tos-bucket-region": String(b.fields.Location),
      "x-tos-storage-class": String(b.fields.StorageClass),
      "x-tos-az-redundancy": String(b.fields.AzRedundancy),
      "x-tos-bucket-type": String(b.fields.BucketType),
    },
  };
};

const ListBuckets: TosAction = (r) => ({
  body: {
    Owner: { ID: OWNER },
    Buckets: r.store.all("tos-bucket").map((b) => {
      const {
        Objects: _o,
        Acl: _a,
        Versioning: _v,
        Tags: _t,
        Lifecycle: _l,
        StorageClass: _s,
        AzRedundancy: _z,
        ...listed
      } = b.fields;
      return listed;
    }),
  },
});

const DeleteBucket: TosAction = (r) => {
  const b = bucketOf(r);
  const count = Object.keys(objects(b)).length;
  if (count > 0)
    throw new ApiError(
      409,
      "BucketNotEmpty",
      `The bucket ${r.bucket} you tried to delete is not empty (${count} objects).`,
    );
  r.store.delete(b);
  return { status: 204 };
};

/** Canned ACLs as grants: the owner always holds FULL_CONTROL; public-read adds AllUsers READ. */
const GetBucketAcl: TosAction = (r) => {
  const b = bucketOf(r);
  const grants: unknown[] = [{ Grantee: { ID: OWNER, Type: "CanonicalUser" }, Permission: "FULL_CONTROL" }];
  if (b.fields.Acl === "public-read" || b.fields.Acl === "public-read-write")
    grants.push({ Grantee: { Type: "Group", Canned: "AllUsers" }, Permission: "READ" });
  if (b.fields.Acl === "public-read-write")
    grants.push({ Grantee: { Type: "Group", Canned: "AllUsers" }, Permission: "WRITE" });
  return { body: { Owner: { ID: OWNER }, Grants: grants, BucketAclDelivered: false } };
};

const PutBucketAcl: TosAction = (r) => {
  const b = bucketOf(r);
  r.store.update(b, { Acl: header(r, "x-tos-acl") ?? b.fields.Acl });
};

const PutBucketStorageClass: TosAction = (r) => {
  const b = bucketOf(r);
  const storageClass = header(r, "x-tos-storage-class");
  if (!storageClass) throw new ApiError(400, "MissingRequestHeader", "The x-tos-storage-class header is missing.");
  if (!STORAGE_CLASSES.includes(storageClass))
    throw new ApiError(400, "InvalidStorageClass", `The storage class ${storageClass} is not valid.`);
  r.store.update(b, { StorageClass: storageClass });
};

const PutBucketTagging: TosAction = (r) => {
  const b = bucketOf(r);
  const tags = (get(r.json, "TagSet", "Tags") ?? []) as { Key?: string; Value?: string }[];
  if (!Array.isArray(tags)) throw new ApiError(400, "MalformedJSON", "TagSet.Tags must be a list.");
  if (tags.length > 20) throw new ApiError(400, "InvalidTagSet", "A bucket has at most 20 tags.");
  r.store.update(b, { Tags: tags.map((t) => ({ Key: String(t.Key ?? ""), Value: String(t.Value ?? "") })) });
};

const GetBucketTagging: TosAction = (r) => {
  const b = bucketOf(r);
  const tags = b.fields.Tags as unknown[] | undefined;
  if (!tags || tags.length === 0) throw new ApiError(404, "NoSuchTagSet", `The bucket ${r.bucket} has no tags.`);
  return { body: { TagSet: { Tags: tags } } };
};

const DeleteBucketTagging: TosAction = (r) => {
  r.store.update(bucketOf(r), { Tags: [] });
  return { status: 204 };
};

/** Versioning: "" (never enabled) → Enabled ⇄ Suspended; a bucket never goes back to "". */
const PutBucketVersioning: TosAction = (r) => {
  const b = bucketOf(r);
  const status = get(r.json, "Status");
  if (status !== "Enabled" && status !== "Suspended")
    throw new ApiError(
      400,
      "InvalidArgument",
      `Versioning Status must be Enabled or Suspended, not ${JSON.stringify(status)}.`,
    );
  r.store.update(b, { Versioning: status });
};

const GetBucketVersioning: TosAction = (r) => ({ body: { Status: String(bucketOf(r).fields.Versioning ?? "") } });

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

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!v || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [CANONICAL.find((c) => c.toLowerCase() === k.toLowerCase()) ?? k, canonical(x)]),
  );
}

const PutBucketLifecycle: TosAction = (r) => {
  const b = bucketOf(r);
  const rules = get(canonical(r.json), "Rules") as Record<string, unknown>[] | undefined;
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

const PutObject: TosAction = (r) => {
  const b = bucketOf(r);
  const etag = `"${createHash("md5").update(r.body).digest("hex")}"`;
  objects(b)[r.key] = { Size: r.body.length, ETag: etag, LastModified: new Date(r.store.clock()).toISOString() };
  r.store.update(b, {});
  return { headers: { etag } };
};

const HeadObject: TosAction = (r) => {
  const o = objects(bucketOf(r))[r.key];
  if (!o) throw new ApiError(404, "NoSuchKey", `The specified key ${r.key} does not exist.`);
  return { headers: { etag: o.ETag, "x-tos-object-size": String(o.Size) } };
};

const DeleteObject: TosAction = (r) => {
  const b = bucketOf(r);
  delete objects(b)[r.key];
  r.store.update(b, {});
  return { status: 204 };
};

const ListObjects: TosAction = (r) => {
  const b = bucketOf(r);
  return {
    body: {
      Name: b.id,
      Prefix: "",
      MaxKeys: 1000,
      IsTruncated: false,
      Contents: Object.entries(objects(b)).map(([Key, o]) => ({ Key, ...o, StorageClass: b.fields.StorageClass })),
    },
  };
};

export const tosActions: Record<string, TosAction> = {
  CreateBucket,
  HeadBucket,
  ListBuckets,
  DeleteBucket,
  GetBucketAcl,
  PutBucketAcl,
  PutBucketStorageClass,
  PutBucketTagging,
  GetBucketTagging,
  DeleteBucketTagging,
  PutBucketVersioning,
  GetBucketVersioning,
  PutBucketLifecycle,
  GetBucketLifecycle,
  DeleteBucketLifecycle,
  PutObject,
  HeadObject,
  DeleteObject,
  ListObjects,
};

function header(r: TosRequest, name: string): string | undefined {
  const v = r.headers[name];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function get(v: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, k) => (node && typeof node === "object" ? (node as Record<string, unknown>)[k] : undefined),
    v,
  );
}

import { ApiError } from "../../errors.js";
import { versionsOf } from "./objects.js";
import { bucketOf, get, header, OWNER, type TosAction } from "./request.js";

/**
 * TOS buckets: the bucket, its versioning, tags, storage class and ACL (lifecycle rules in
 * lifecycle.ts, objects and their versions in objects.ts). Error codes
 * are TOS's (docs "TOS 错误码", the S3 names: NoSuchBucket, BucketNotEmpty, NoSuchLifecycleConfiguration...).
 */
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
    Versions: {},
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
        Versions: _o,
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
  // Every version and delete marker counts: a versioned bucket is empty only when all are deleted by version id.
  const count = Object.values(versionsOf(b)).flat().length;
  if (count > 0)
    throw new ApiError(
      409,
      "BucketNotEmpty",
      `The bucket ${r.bucket} you tried to delete is not empty (${count} object versions or delete markers).`,
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

export const bucketActions: Record<string, TosAction> = {
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
};

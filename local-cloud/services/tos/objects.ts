import { createHash, randomBytes } from "node:crypto";
import { ApiError } from "../../errors.js";
import type { Resource, Store } from "../../store.js";
import { bucketOf, OWNER, type TosAction, type TosRequest } from "./request.js";

/**
 * Objects and their versions. A bucket never versioned keeps one version per key (id "null"); with
 * versioning Enabled every PUT adds a version and a DELETE without a version id adds a delete
 * marker (the object looks gone, its versions stay); Suspended writes and deletes the "null"
 * version. Only a DELETE with a version id removes a version or a delete marker for good, and a
 * bucket holding either cannot be deleted (S3's model, which TOS's versioning docs follow). The
 * content of each version is held in memory beside the store (not in its file or its listing), for
 * the S3-compatible data plane (s3-data-plane.ts) that serves the same buckets.
 */
export interface ObjectVersion {
  VersionId: string;
  DeleteMarker: boolean;
  Size: number;
  ETag: string;
  LastModified: string;
}

/** Every key's versions, oldest first; the last one is the current version. */
export function versionsOf(b: Resource): Record<string, ObjectVersion[]> {
  return (b.fields.Versions ??= {}) as Record<string, ObjectVersion[]>;
}

const newVersionId = () => randomBytes(12).toString("hex");

/** Each bucket's object contents by `<version id>/<key>`, beside the store. */
const contents = new WeakMap<Resource, Map<string, Buffer>>();
const contentsOf = (b: Resource) => contents.get(b) ?? contents.set(b, new Map()).get(b)!;

/** Where a write lands: a new version when versioning is Enabled, else the "null" version replaced. */
function write(store: Store, b: Resource, key: string, v: Omit<ObjectVersion, "VersionId">): ObjectVersion {
  const all = versionsOf(b);
  const enabled = b.fields.Versioning === "Enabled";
  const kept = enabled ? (all[key] ?? []) : (all[key] ?? []).filter((x) => x.VersionId !== "null");
  const version = { ...v, VersionId: enabled ? newVersionId() : "null" };
  all[key] = [...kept, version];
  store.update(b, {});
  return version;
}

/** PUT of an object (TOS or S3 protocol): a new current version holding `body`. */
export function putObject(store: Store, b: Resource, key: string, body: Buffer): ObjectVersion {
  const etag = `"${createHash("md5").update(body).digest("hex")}"`;
  const LastModified = new Date(store.clock()).toISOString();
  const v = write(store, b, key, { DeleteMarker: false, Size: body.length, ETag: etag, LastModified });
  contentsOf(b).set(`${v.VersionId}/${key}`, body);
  return v;
}

/** The current version's content, or undefined when there is none or it is a delete marker. */
export function currentContent(b: Resource, key: string): Buffer | undefined {
  const v = versionsOf(b)[key]?.at(-1);
  return v && !v.DeleteMarker ? contentsOf(b).get(`${v.VersionId}/${key}`) : undefined;
}

/** Keys whose current version is an object (not a delete marker), sorted. */
export function currentKeys(b: Resource): string[] {
  return Object.entries(versionsOf(b))
    .filter(([, versions]) => !versions.at(-1)!.DeleteMarker)
    .map(([key]) => key)
    .sort();
}

/** DELETE of an object without a version id: gone in a bucket never versioned, else a delete marker. */
export function deleteObject(store: Store, b: Resource, key: string): ObjectVersion | undefined {
  if (!b.fields.Versioning) {
    delete versionsOf(b)[key];
    store.update(b, {});
    return undefined;
  }
  const LastModified = new Date(store.clock()).toISOString();
  return write(store, b, key, { DeleteMarker: true, Size: 0, ETag: "", LastModified });
}

const PutObject: TosAction = (r) => {
  const b = bucketOf(r);
  const v = putObject(r.store, b, r.key, r.body);
  return { headers: { etag: v.ETag, ...(b.fields.Versioning ? { "x-tos-version-id": v.VersionId } : {}) } };
};

/** The version a read asks for: `versionId`, else the current one (absent when it is a delete marker). */
function readVersion(r: TosRequest): ObjectVersion {
  const versions = versionsOf(bucketOf(r))[r.key] ?? [];
  const id = r.query.get("versionId");
  const v = id === null ? versions.at(-1) : versions.find((x) => x.VersionId === id);
  if (!v && id !== null) throw new ApiError(404, "NoSuchVersion", `The version ${id} of ${r.key} does not exist.`);
  if (!v || v.DeleteMarker) throw new ApiError(404, "NoSuchKey", `The specified key ${r.key} does not exist.`);
  return v;
}

const HeadObject: TosAction = (r) => {
  const v = readVersion(r);
  return { headers: { etag: v.ETag, "x-tos-object-size": String(v.Size), "x-tos-version-id": v.VersionId } };
};

const DeleteObject: TosAction = (r) => {
  const b = bucketOf(r);
  const all = versionsOf(b);
  const id = r.query.get("versionId");
  if (id !== null) {
    // For good: the version or delete marker named, whatever the versioning status.
    const gone = (all[r.key] ?? []).find((x) => x.VersionId === id);
    all[r.key] = (all[r.key] ?? []).filter((x) => x.VersionId !== id);
    if (all[r.key]!.length === 0) delete all[r.key];
    r.store.update(b, {});
    return {
      status: 204,
      headers: { "x-tos-version-id": id, ...(gone?.DeleteMarker ? { "x-tos-delete-marker": "true" } : {}) },
    };
  }
  const marker = deleteObject(r.store, b, r.key);
  if (!marker) return { status: 204 };
  return { status: 204, headers: { "x-tos-delete-marker": "true", "x-tos-version-id": marker.VersionId } };
};

/** The current versions that are objects (a key whose current version is a delete marker is not listed). */
const ListObjects: TosAction = (r) => {
  const b = bucketOf(r);
  const prefix = r.query.get("prefix") ?? "";
  const contents = Object.entries(versionsOf(b))
    .filter(([key, versions]) => key.startsWith(prefix) && !versions.at(-1)!.DeleteMarker)
    .map(([Key, versions]) => {
      const { Size, ETag, LastModified } = versions.at(-1)!;
      return { Key, Size, ETag, LastModified, StorageClass: b.fields.StorageClass };
    });
  return { body: { Name: b.id, Prefix: prefix, MaxKeys: 1000, IsTruncated: false, Contents: contents } };
};

/** `GET /?versions`: every version and delete marker, newest first per key (TOS's ListObjectVersions, JSON). */
const ListObjectVersions: TosAction = (r) => {
  const b = bucketOf(r);
  const prefix = r.query.get("prefix") ?? "";
  const Versions: unknown[] = [];
  const DeleteMarkers: unknown[] = [];
  for (const [Key, versions] of Object.entries(versionsOf(b)).sort(([a], [c]) => a.localeCompare(c))) {
    if (!Key.startsWith(prefix)) continue;
    [...versions].reverse().forEach((v, i) => {
      const common = {
        Key,
        VersionId: v.VersionId,
        IsLatest: i === 0,
        LastModified: v.LastModified,
        Owner: { ID: OWNER },
      };
      if (v.DeleteMarker) DeleteMarkers.push(common);
      else Versions.push({ ...common, ETag: v.ETag, Size: v.Size, StorageClass: b.fields.StorageClass });
    });
  }
  return {
    body: {
      Name: b.id,
      Prefix: prefix,
      KeyMarker: "",
      VersionIdMarker: "",
      MaxKeys: 1000,
      IsTruncated: false,
      Versions,
      DeleteMarkers,
    },
  };
};

export const objectActions: Record<string, TosAction> = {
  PutObject,
  HeadObject,
  DeleteObject,
  ListObjects,
  ListObjectVersions,
};

import { createHash } from "node:crypto";
import { z } from "zod";
import { tosBucketName } from "../../contract/validation.js";

/**
 * `files`: photo and document attachments stored in a private TOS bucket of the environment
 * (docs/files.md). Absent (the default): no bucket, no policy, and the API runs with files off.
 * Clients upload and download straight to and from TOS through presigned URLs; the servers only
 * sign, HEAD and DELETE, with the short-lived credentials of their instance role.
 */

/** A web origin allowed by the bucket's CORS rule: scheme and host (and port), no path. */
const corsOrigin = z
  .string()
  .regex(
    /^(https:\/\/(\*\.)?[a-z0-9.-]+|http:\/\/(localhost|127\.0\.0\.1))(:\d{1,5})?$/,
    'must be a web origin such as "https://app.example.com" (https, no path; http only for localhost)',
  );

/** `image/png` or a family such as `image/*`, as the API's FILES_ALLOWED_TYPES takes them. */
const mediaType = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9!#&^_.+-]*\/([a-z0-9][a-z0-9!#&^_.+-]*|\*)$/,
    'must be a lower-case media type such as "image/png", or a family such as "image/*"',
  );

export const filesSchema = z
  .strictObject({
    /**
     * Bucket name. TOS bucket names are global, so the default carries a hash of the stack name,
     * region and state location (defaultFilesBucketName), like the backup bucket's. It can never
     * change for an existing environment.
     */
    bucketName: tosBucketName.optional(),
    /** Object key prefix of the attachments; the servers' role may touch nothing outside it. */
    keyPrefix: z
      .string()
      .regex(/^([a-z0-9][a-z0-9._-]*\/)+$/, 'must be path segments each ending in "/", such as "files/"')
      .default("files/"),
    /**
     * Web origins whose pages may PUT and GET attachments in the browser (the bucket's CORS rule).
     * Mobile apps need none. Empty (the default): no CORS rule, browsers are refused.
     */
    corsOrigins: z.array(corsOrigin).max(100).default([]),
    /** Days after which TOS aborts an unfinished multipart upload and frees its parts. */
    abortIncompleteUploadsDays: z.number().int().min(1).max(365).default(1),
    /**
     * TOS endpoint (host name) the API signs for, and so the host the clients upload to. Default
     * `tos-<region>.volces.com` (TOS's public endpoint of the region).
     */
    endpoint: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$/, 'must be a host name such as "tos-cn-beijing.volces.com"')
      .optional(),
    /** The API's limits (absent: the API's defaults, docs/files.md). */
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 ** 3)
      .optional(),
    quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    maxPerTodo: z.number().int().min(1).max(1000).optional(),
    allowedTypes: z.array(mediaType).min(1).optional(),
  })
  .optional();

export type FilesConfig = NonNullable<z.output<typeof filesSchema>>;

/**
 * Default files bucket name: `<project>-<environment>-files-<8 hex>`, derived like the backup
 * bucket's (defaultBackupBucketName) from what identifies the environment's state, and different
 * from it, so the two never collide.
 */
export function defaultFilesBucketName(stackName: string, region: string, stateLocation: string): string {
  const hash = createHash("sha256")
    .update(`files\0${stackName}\0${region}\0${stateLocation}`)
    .digest("hex")
    .slice(0, 8);
  const suffix = `-files-${hash}`;
  return `${stackName.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** TOS's public endpoint of a region (host name), the one presigned URLs must name for clients. */
export function defaultTosEndpoint(region: string): string {
  return `tos-${region}.volces.com`;
}

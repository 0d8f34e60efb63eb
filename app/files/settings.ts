import { join } from "node:path";
import { z } from "zod";
import { int, list } from "../config-parsers.js";
import type { TosStoreSettings } from "./object-store.js";

/** The FILES_* settings (read with the others by app/config.ts; docs/app.md lists them). */

/** Photos as phones take them, PDF and plain text. Not SVG: it can carry script. */
export const DEFAULT_ALLOWED_TYPES = [
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
  "image/heic",
  "image/heif",
  "application/pdf",
  "text/plain",
];

export const filesEnv = {
  // default: `local` on the embedded database, else `off`
  FILES_STORAGE: z.enum(["off", "local", "tos"], { message: "must be off, local or tos" }).optional(),
  FILES_TOS_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, {
      message: "must be a bucket name: 3–63 lower-case letters, digits and hyphens",
    })
    .optional(),
  FILES_TOS_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/, { message: "must be a region such as cn-beijing" })
    .optional(),
  FILES_TOS_ENDPOINT: z
    .string()
    .regex(/^(https?:\/\/)?[A-Za-z0-9.-]+(:\d+)?$/, {
      message: "must be a host such as tos-cn-beijing.volces.com (or http(s)://host:port)",
    })
    .optional(),
  FILES_TOS_KEY_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, { message: "must be path segments each ending in /, e.g. files/" })
    .default("files/"),
  FILES_CREDENTIALS_FILE: z.string().startsWith("/", { message: "must be an absolute path" }).optional(),
  FILES_MAX_BYTES: int(1, 5 * 1024 ** 3).default(10 * 1024 * 1024),
  FILES_ALLOWED_TYPES: list
    .pipe(
      z
        .array(
          z.string().regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)$/, {
            message: "each entry must be a lower-case media type such as image/png, or a family such as image/*",
          }),
        )
        .min(1, { message: "must name at least one media type" }),
    )
    .default(DEFAULT_ALLOWED_TYPES),
  FILES_QUOTA_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(100 * 1024 * 1024),
  FILES_MAX_PER_TODO: int(1, 1000).default(20),
};

const filesEnvSchema = z.object(filesEnv);
type FilesEnv = z.infer<typeof filesEnvSchema>;

/** Required with FILES_STORAGE=tos. */
export const REQUIRED_FOR_TOS = [
  "FILES_TOS_BUCKET",
  "FILES_TOS_REGION",
  "FILES_TOS_ENDPOINT",
  "FILES_CREDENTIALS_FILE",
];

/** How to fix each setting, shown next to its problem. */
export const filesHints: Record<string, string> = {
  FILES_STORAGE: "off, local (the API stores files under DATA_DIR; one server only) or tos (Volcengine TOS)",
  FILES_TOS_BUCKET: "the environment's files bucket, e.g. FILES_TOS_BUCKET=todo-prod-files",
  FILES_TOS_REGION: "e.g. FILES_TOS_REGION=cn-beijing",
  FILES_TOS_ENDPOINT: "e.g. FILES_TOS_ENDPOINT=tos-cn-beijing.volces.com",
  FILES_TOS_KEY_PREFIX: "e.g. FILES_TOS_KEY_PREFIX=files/ (the prefix the servers' role may write under)",
  FILES_CREDENTIALS_FILE: "the STS credentials file the server's credential unit keeps fresh",
  FILES_MAX_BYTES: "e.g. FILES_MAX_BYTES=10485760 (10 MiB per file)",
  FILES_ALLOWED_TYPES: "e.g. FILES_ALLOWED_TYPES=image/*,application/pdf,text/plain",
  FILES_QUOTA_BYTES: "e.g. FILES_QUOTA_BYTES=104857600 (100 MiB per user)",
  FILES_MAX_PER_TODO: "e.g. FILES_MAX_PER_TODO=20",
};

export interface FileLimits {
  maxBytes: number;
  /** Media types (`image/png`) and families (`image/*`). */
  allowedTypes: string[];
  quotaBytes: number;
  maxPerTodo: number;
}

export type FilesConfig =
  | { storage: "off"; limits: FileLimits }
  | { storage: "local"; limits: FileLimits; local: { dir: string; signingKey: Uint8Array } }
  | { storage: "tos"; limits: FileLimits; tos: TosStoreSettings };

export function filesConfig(
  e: FilesEnv,
  storage: "off" | "local" | "tos",
  dataDir: string,
  signingKey: () => string,
): FilesConfig {
  const limits: FileLimits = {
    maxBytes: e.FILES_MAX_BYTES,
    allowedTypes: e.FILES_ALLOWED_TYPES,
    quotaBytes: e.FILES_QUOTA_BYTES,
    maxPerTodo: e.FILES_MAX_PER_TODO,
  };
  if (storage === "off") return { storage, limits };
  if (storage === "local") {
    return {
      storage,
      limits,
      local: {
        dir: join(dataDir, "files"),
        signingKey: new TextEncoder().encode(signingKey()),
      },
    };
  }
  return {
    storage,
    limits,
    tos: {
      bucket: e.FILES_TOS_BUCKET!,
      region: e.FILES_TOS_REGION!,
      endpoint: e.FILES_TOS_ENDPOINT!,
      keyPrefix: e.FILES_TOS_KEY_PREFIX,
      credentialsFile: e.FILES_CREDENTIALS_FILE!,
    },
  };
}

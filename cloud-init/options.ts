import { z } from "zod";
import { DEFAULT_APP_NAME, dnsName, regionId, SHELL_SAFE_PATTERN, tosBucketName } from "../contract/index.js";
import { nodeVersionSchema, pinnedNodeRelease } from "../contract/node.js";

const pinnedNode = pinnedNodeRelease();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const roleName = z.string().regex(/^[A-Za-z0-9.@_-]{1,64}$/);
const httpsOrigin = z
  .string()
  .regex(/^https:\/\/[^'"\\$`\s/]+\/?$/, "endpoint must be an https:// origin without quotes, $ or spaces");

/**
 * What the server's cloud-config depends on. This is the contract between the infra stack
 * (which validates the user's stack configuration and derives these values) and
 * `renderCloudInit` (which turns them into cloud-config text). No secret ever belongs here:
 * whatever is in here ends up in the instance's user data.
 */
export const cloudInitOptionsSchema = z
  .object({
    /** Short machine name of the app: system user, /opt/<appName>, systemd unit prefix. */
    appName: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,30}$/)
      .default(DEFAULT_APP_NAME),
    /** Environment name (dev, prod, ...), for the hostname and log tags. */
    environment: z.string().regex(/^[a-z][a-z0-9-]{0,20}$/),
    /** `local`: PostgreSQL on the server. `rds`: the deploy step writes DATABASE_URL. */
    databaseMode: z.enum(["local", "rds"]),
    /** Public domain name for HTTPS via Certbot; absent means plain HTTP on the IP. */
    domain: dnsName.optional(),
    /** Contact e-mail for Let's Encrypt; required when `domain` is set. */
    acmeEmail: z
      .string()
      .email()
      .regex(SHELL_SAFE_PATTERN, "acmeEmail must not contain quotes, backslashes, $ or spaces")
      .optional(),
    /** Exact Node.js version the servers run (default: the pin in contract/node-release.json). */
    nodeVersion: nodeVersionSchema.default(pinnedNode.version),
    /** SHA-256 of that version's official linux tarballs; must be given with a non-default nodeVersion. */
    nodeSha256: z
      .object({ x64: sha256, arm64: sha256.optional() })
      .strict()
      .default({ x64: pinnedNode.sha256["linux-x64"], arm64: pinnedNode.sha256["linux-arm64"] }),
    /** Base URL of the Node.js release mirror (same layout as https://nodejs.org/dist). */
    nodeMirror: z
      .string()
      .url()
      .regex(/^https?:\/\/[^'"\\$`\s]+$/, "nodeMirror must be an http(s) URL without quotes, $ or spaces")
      .transform((url) => url.replace(/\/+$/, ""))
      .default("https://nodejs.org/dist"),
    /**
     * Receives the server's own alerts (todo-alert) by mail through the API's SMTP relay: the
     * stack's `alerts.email`. Not a secret; the webhook is one and never comes through here.
     */
    alertEmail: z
      .string()
      .email()
      .regex(SHELL_SAFE_PATTERN, "alertEmail must not contain quotes, backslashes, $ or spaces")
      .optional(),
    /**
     * Client networks (IPv4 CIDRs) Nginx lets reach the admin console (/admin); everyone else gets
     * 403 from Nginx. 127.0.0.1 (an SSH tunnel) always may. Empty (the default, and a host set up
     * before the console existed): nobody else.
     */
    adminConsoleCidrs: z
      .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "must be an IPv4 CIDR such as 203.0.113.7/32"))
      .default([]),
    /** Loopback ports of the app instances behind Nginx; at least two for rolling restarts. */
    appPorts: z.array(z.number().int().min(1024).max(65535)).min(2).default([3001, 3002]),
    /** Days of local pg_dump backups to keep. */
    backupRetentionDays: z.number().int().min(1).max(365).default(7),
    /**
     * MemoryMax of each app instance, in MiB. Absent (the default): derived on the server from its
     * memory at each deploy (memory-budget.ts), so a larger instance gives the app more.
     */
    appMemoryMaxMiB: z.number().int().min(128).optional(),
    /** Releases kept in /opt/<appName>/releases (current and previous are always kept). */
    keepReleases: z.number().int().min(2).max(50).default(5),
    /**
     * Off-server copies of the backups in a TOS bucket, written with the temporary credentials of
     * the instance's IAM role (fetched from the metadata service at run time; no key here).
     */
    offsiteBackup: z
      .object({
        bucket: tosBucketName,
        region: regionId,
        /** S3-compatible endpoint, e.g. https://tos-s3-cn-beijing.volces.com */
        endpoint: httpsOrigin,
        /** IAM role attached to the instance (its credentials come from the metadata service). */
        roleName,
      })
      .strict()
      .optional(),
    /**
     * Attachments (`files` in the stack): the instance role whose short-lived credentials the
     * privileged `<app>-files-credentials` unit copies from the metadata service into a file the
     * app may read (the app itself cannot reach the metadata service). No key here.
     */
    filesCredentials: z.object({ roleName }).strict().optional(),
    /**
     * The seed of an auto-scaling fleet (docs/auto-scaling.md): the first fixed app server admits
     * the scaling group's new servers (todo-seed.timer, every 30 s). Only in that server's deploy
     * step: the group's id is a Terraform value, never part of a fixed server's user data. The seed
     * calls with its own role, the off-site backup role (so offsiteBackup is required with it).
     */
    seed: z
      .object({
        /** The scaling group whose held instances it admits. */
        groupId: z
          .string()
          .regex(/^[A-Za-z0-9-]{1,64}$/, "groupId must be a scaling group id such as scg-ybqm0yoanrwj4bi1c3ne"),
        /** The role it associates with each new server (the app servers' role). */
        appRoleName: roleName,
        region: regionId,
        /** Volcengine's OpenAPI endpoint, e.g. https://open.volcengineapi.com */
        endpoint: httpsOrigin,
      })
      .strict()
      .optional(),
    /**
     * Where a fleet's deploys are published (fleet/ in the private bucket, contract/fleet.ts).
     * `member: false` (the first fixed server): the kit installs todo-fleet-publish, which writes
     * there with the off-site backup role unless roleName names another. `member: true` (the
     * scaling configuration's user data): the server joins with no deploy step, reading with
     * roleName, and keeps up with todo-fleet-sync.timer.
     */
    fleet: z
      .object({
        bucket: tosBucketName,
        region: regionId,
        /** S3-compatible endpoint of TOS, e.g. https://tos-s3-cn-beijing.volces.com */
        endpoint: httpsOrigin,
        member: z.boolean(),
        roleName: roleName.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => !o.domain || o.acmeEmail, {
    message: "acmeEmail is required when domain is set",
    path: ["acmeEmail"],
  })
  .refine((o) => o.nodeVersion === pinnedNode.version || o.nodeSha256.x64 !== pinnedNode.sha256["linux-x64"], {
    message: "nodeSha256 must be given for a nodeVersion other than the pinned one",
    path: ["nodeSha256"],
  })
  .refine((o) => !o.seed || o.offsiteBackup, {
    message: "seed calls with the off-site backup role: offsiteBackup is required with it",
    path: ["seed"],
  })
  .refine((o) => !o.fleet?.member || o.fleet.roleName, {
    message: "a fleet member reads with its own role: fleet.roleName is required when fleet.member is true",
    path: ["fleet", "roleName"],
  })
  .refine((o) => !o.fleet || o.fleet.member || o.fleet.roleName || o.offsiteBackup, {
    message:
      "the publishing server writes with the off-site backup role: offsiteBackup (or fleet.roleName) is required",
    path: ["fleet"],
  })
  .refine((o) => !(o.seed && o.fleet?.member), {
    message: "a fleet member cannot be the seed (the seed is a fixed server)",
    path: ["seed"],
  })
  .refine((o) => new Set(o.appPorts).size === o.appPorts.length, {
    message: "appPorts must not repeat a port",
    path: ["appPorts"],
  });

export type CloudInitOptions = z.input<typeof cloudInitOptionsSchema>;
export type ResolvedCloudInitOptions = z.output<typeof cloudInitOptionsSchema>;

/** The options, validated and with their defaults, or an error listing every problem. */
export function parseCloudInitOptions(options: CloudInitOptions): ResolvedCloudInitOptions {
  const parsed = cloudInitOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new Error(`Invalid cloud-init options:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

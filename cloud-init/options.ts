import { z } from "zod";
import { DEFAULT_APP_NAME, dnsName, regionId, SHELL_SAFE_PATTERN, tosBucketName } from "../contract/index.js";
import { nodeVersionSchema, pinnedNodeRelease } from "../contract/node.js";

const pinnedNode = pinnedNodeRelease();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

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
        endpoint: z
          .string()
          .regex(/^https:\/\/[^'"\\$`\s/]+\/?$/, "endpoint must be an https:// origin without quotes, $ or spaces"),
        /** IAM role attached to the instance (its credentials come from the metadata service). */
        roleName: z.string().regex(/^[A-Za-z0-9.@_-]{1,64}$/),
      })
      .strict()
      .optional(),
    /**
     * Attachments (`files` in the stack): the instance role whose short-lived credentials the
     * privileged `<app>-files-credentials` unit copies from the metadata service into a file the
     * app may read (the app itself cannot reach the metadata service). No key here.
     */
    filesCredentials: z
      .object({ roleName: z.string().regex(/^[A-Za-z0-9.@_-]{1,64}$/) })
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
  .refine((o) => new Set(o.appPorts).size === o.appPorts.length, {
    message: "appPorts must not repeat a port",
    path: ["appPorts"],
  });

export type CloudInitOptions = z.input<typeof cloudInitOptionsSchema>;
export type ResolvedCloudInitOptions = z.output<typeof cloudInitOptionsSchema>;

import { z } from "zod";
import { clusterProblems } from "./cluster.js";
import { clusterSchema } from "./cluster-schema.js";
import {
  eipSchema,
  imageSchema,
  instanceType,
  ipv4Cidr,
  localPath,
  name,
  sshPublicKey,
  tagKey,
  zoneId,
} from "./fields.js";
import { filesSchema } from "./files.js";
import { alertsSchema, backupsSchema } from "./operations.js";
import { dnsName, tosBucketName } from "../../contract/validation.js";

/**
 * The stack configuration: what a user may choose about one environment (dev, prod, ...).
 *
 * The file (stack.config.json, copied from stack.config.example.json) holds `defaults` plus
 * per-environment overrides; each environment is the deep merge of both and is validated
 * against `environmentSchema` on its own, so every problem is reported with its path.
 */

const localDatabase = z.strictObject({ mode: z.literal("local") });

const rdsDatabase = z.strictObject({
  mode: z.literal("rds"),
  engineVersion: z
    .enum(["PostgreSQL_12", "PostgreSQL_13", "PostgreSQL_14", "PostgreSQL_15", "PostgreSQL_16", "PostgreSQL_17"])
    .default("PostgreSQL_16"),
  /** Node spec; see the volcengine_rds_postgresql_instance_specs data source or the console. */
  nodeSpec: z
    .string()
    .regex(/^rds\.postgres\.[a-z0-9.]+$/, 'must look like "rds.postgres.1c2g"')
    .default("rds.postgres.1c2g"),
  storageGb: z
    .number()
    .int()
    .min(20)
    .max(3000)
    .refine((n) => n % 10 === 0, "must be a multiple of 10")
    .default(20),
  /**
   * Zone of the standby node. Required (see rdsStandbyZoneProblem): it can never change later, so
   * it has no default that could differ between topologies.
   */
  secondaryZone: z
    .string()
    .regex(/^[a-z]+-[a-z0-9-]+$/)
    .optional(),
  databaseName: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, "lowercase letters, digits, _; start with a letter")
    .default("todo"),
  username: z
    .string()
    .regex(/^[a-z][a-z0-9_]{1,62}$/, "lowercase letters, digits, _; start with a letter")
    .refine((u) => !["postgres", "root", "admin"].includes(u), "reserved name; choose another")
    .default("todo_app"),
});

export const environmentSchema = z
  .strictObject({
    /** "single": one server with its own public IP. "cluster": load balancer, several servers, RDS. */
    topology: z.enum(["single", "cluster"]).default("single"),
    cluster: clusterSchema,
    region: z.string().regex(/^[a-z]+-[a-z0-9-]+$/, 'must be a region id such as "cn-beijing"'),
    zone: zoneId,
    instanceType,
    image: imageSchema,
    systemDisk: z
      .strictObject({
        type: z.enum(["ESSD_PL0", "ESSD_PL1", "ESSD_PL2", "ESSD_FlexPL", "PTSSD"]).default("ESSD_PL0"),
        sizeGb: z.number().int().min(20).max(2048).default(40),
      })
      .prefault({}),
    network: z
      .strictObject({
        vpcCidr: ipv4Cidr.default("172.16.0.0/16"),
        subnetCidr: ipv4Cidr.default("172.16.1.0/24"),
        /** cluster: the app subnet of the second zone (default: the block after subnetCidr). */
        secondSubnetCidr: ipv4Cidr.optional(),
        /** cluster: the load balancer's and NAT gateway's subnet (default: two blocks after subnetCidr). */
        loadBalancerSubnetCidr: ipv4Cidr.optional(),
      })
      .prefault({}),
    ssh: z
      .strictObject({
        /** The public key to install (one of publicKey / publicKeyPath). */
        publicKey: sshPublicKey.optional(),
        publicKeyPath: localPath.optional(),
        /**
         * Private key Terraform uses to ship releases (read by Terraform at apply time, never at
         * synth). Omit it to use your ssh-agent instead (needed for passphrase-protected keys).
         */
        privateKeyPath: localPath.optional(),
        /** Login user of the image; Volcengine's public Ubuntu/Debian images use root. */
        user: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
          .default("root"),
        /** Who may reach port 22. Required; the whole Internet only with allowWorldSsh. */
        adminCidrs: z.array(ipv4Cidr).min(1, "list at least one CIDR allowed to SSH, e.g. your public IP + /32"),
        allowWorldSsh: z.boolean().default(false),
      })
      .superRefine((s, ctx) => {
        if (!s.publicKey === !s.publicKeyPath) {
          ctx.addIssue({
            code: "custom",
            path: ["publicKeyPath"],
            message:
              "set exactly one of ssh.publicKey (the key text) or ssh.publicKeyPath (e.g. ~/.ssh/id_ed25519.pub)",
          });
        }
        s.adminCidrs.forEach((c, i) => {
          if (/\/0$/.test(c) && !s.allowWorldSsh) {
            ctx.addIssue({
              code: "custom",
              path: ["adminCidrs", i],
              message: `"${c}" opens SSH to the whole Internet; use your own IP/32, or set ssh.allowWorldSsh: true if you really mean it`,
            });
          }
        });
      }),
    /** Public IP billing: the server's EIP (single); the bastion's and the NAT gateway's (cluster). */
    eip: eipSchema,
    https: z
      .strictObject({
        domain: dnsName,
        acmeEmail: z.email("must be an e-mail address for Let's Encrypt expiry notices"),
      })
      .optional(),
    database: z.discriminatedUnion("mode", [localDatabase, rdsDatabase]).prefault({ mode: "local" }),
    /** Database dumps copied off the server into a private TOS bucket (docs/operations.md). */
    backups: backupsSchema,
    /** Attachments in a private TOS bucket of the environment (docs/files.md); omit for no files. */
    files: filesSchema,
    /** CloudMonitor alarms to this e-mail (and webhook); omit for no alarms. */
    alerts: alertsSchema,
    /**
     * Password-reset and verification mail (API v1.1): the sender address. The SMTP relay's URL
     * carries a password, so it is a deploy-time secret (TF_VAR_smtp_url), never in this file.
     */
    mail: z
      .strictObject({
        from: z.email("must be a bare e-mail address, e.g. no-reply@example.com (the API's MAIL_FROM)"),
      })
      .optional(),
    /**
     * The admin console (/admin): Nginx serves it only to these addresses. Absent: the same as
     * ssh.adminCidrs (an admin console need not face the Internet). An SSH tunnel to the server
     * always works (127.0.0.1). docs/admin.md.
     */
    adminConsole: z.strictObject({ allowCidrs: z.array(ipv4Cidr).min(1) }).optional(),
    /** Node.js download mirror (same layout as nodejs.org/dist), e.g. for servers in mainland China. */
    nodeMirror: z.url({ protocol: /^https$/, error: "must be an https:// URL" }).optional(),
    /**
     * The data-loss guard's explicit opt-in: a deploy that would destroy or replace the RDS
     * instance ("database"), the backup bucket ("backups") or the files bucket ("files") is refused
     * at plan unless named here. Set it for the one deploy that means it, then remove it
     * (docs/deploy.md, Changes that lose data).
     */
    allowReplace: z
      .array(z.enum(["database", "backups", "files"]))
      .default([])
      .refine((a) => new Set(a).size === a.length, "list each of database, backups, files at most once"),
    tags: z
      .record(tagKey, z.string().max(256))
      .refine((t) => Object.keys(t).length <= 20, "at most 20 tags")
      .default({}),
  })
  .superRefine(
    (env, ctx) => {
      const standby = rdsStandbyZoneProblem(env);
      if (standby) ctx.addIssue({ code: "custom", path: ["database", "secondaryZone"], message: standby });
      if (env.files?.bucketName && env.files.bucketName === env.backups.bucketName)
        ctx.addIssue({
          code: "custom",
          path: ["files", "bucketName"],
          message: "must differ from backups.bucketName: attachments and backups live in separate buckets",
        });
      if (env.topology !== "cluster") {
        if (env.cluster.autoScaling)
          ctx.addIssue({
            code: "custom",
            path: ["cluster", "autoScaling"],
            message:
              'applies to topology "cluster" only: a scaling group adds servers behind the load balancer, which a single server has not (see docs/scale-out.md)',
          });
        return;
      }
      for (const problem of clusterProblems(env))
        ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    },
    // Also when unrelated settings are wrong (so one run lists every problem), as long as the
    // settings the cluster checks read were valid.
    { when: (payload) => !payload.issues.some((issue) => CLUSTER_INPUTS.has(String(issue.path?.[0]))) },
  );

/**
 * RDS's standby zone must be written down. The provider refuses any later change of
 * `secondary_zone_id` ("the zone_migrations field is needed to migrate the secondary node"), and
 * earlier versions defaulted it differently per topology (the server's zone when single, the
 * second zone in a cluster), so switching topology with the default could never be applied.
 * The message names the value that keeps an instance created with that old default.
 */
export function rdsStandbyZoneProblem(env: {
  topology: "single" | "cluster";
  zone: string;
  database: { mode: "local" } | { mode: "rds"; secondaryZone?: string };
  cluster: { secondZone?: string };
}): string | undefined {
  if (env.database.mode !== "rds" || env.database.secondaryZone !== undefined) return undefined;
  const kept = env.topology === "cluster" ? env.cluster.secondZone : env.zone;
  return (
    "is required with RDS: the zone of the database's standby node can never be changed later, so choose it now " +
    '(a second zone such as "cn-beijing-b" survives a zone outage; the same zone as `zone` keeps both nodes together). ' +
    (kept
      ? `An RDS instance created by an earlier version of this stack without it has its standby in "${kept}": set that to keep it.`
      : "")
  ).trim();
}

const CLUSTER_INPUTS = new Set(["topology", "zone", "network", "database", "cluster", "https"]);

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;

export const stateSchema = z.discriminatedUnion("backend", [
  z.strictObject({ backend: z.literal("local") }),
  z.strictObject({
    /** S3-compatible backend on Volcengine TOS; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. */
    backend: z.literal("s3"),
    bucket: tosBucketName,
    region: z.string().regex(/^[a-z]+-[a-z0-9-]+$/),
    /** S3 endpoint of TOS for that region, e.g. https://tos-s3-cn-beijing.volces.com. */
    endpoint: z.url({ protocol: /^https$/, error: "must be an https:// URL" }),
    keyPrefix: z
      .string()
      .regex(/^[a-zA-Z0-9_./-]*$/)
      .default("todo-api"),
  }),
]);

export type StateConfig = z.output<typeof stateSchema>;

/** The file as written by the user, before merging (environment fields checked per environment). */
export const stackConfigFileSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Prefix of every resource name and of the stack names (`<project>-<environment>`). */
  project: name("project").default("todo-api"),
  state: stateSchema.prefault({ backend: "local" }),
  defaults: z.record(z.string(), z.unknown()).default({}),
  environments: z
    .record(name("environment name"), z.record(z.string(), z.unknown()))
    .refine((e) => Object.keys(e).length > 0, 'define at least one environment, e.g. "dev": {}'),
});

export interface StackConfig {
  project: string;
  state: StateConfig;
  /** Validated environments in file order. The SSH public key is resolved to its text. */
  environments: ResolvedEnvironment[];
}

export interface ResolvedEnvironment extends EnvironmentConfig {
  name: string;
  ssh: EnvironmentConfig["ssh"] & { publicKey: string };
  /** The bucket name is resolved by the loader (its default depends on the state location). */
  backups: EnvironmentConfig["backups"] & { bucketName: string };
  /** Likewise the files bucket's name and the endpoint, when files are on. */
  files?: NonNullable<EnvironmentConfig["files"]> & { bucketName: string; endpoint: string };
}

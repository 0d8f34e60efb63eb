import { isIP } from "node:net";
import { z } from "zod";
import { clusterProblems } from "./cluster.js";
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

const name = (what: string) =>
  z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,20}$/,
      `${what}: lowercase letters, digits and "-", starting with a letter, at most 21 characters`,
    );

/** IPv4 CIDR such as 203.0.113.7/32. Bare addresses are not accepted to avoid ambiguity. */
export const ipv4Cidr = z.string().refine(
  (v) => {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(v);
    return !!m && isIP(m[1]!) === 4 && Number(m[2]) <= 32;
  },
  { message: 'must be an IPv4 CIDR such as "203.0.113.7/32" (your public IP followed by /32)' },
);

export const sshPublicKey = z
  .string()
  .trim()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/,
    'must be one OpenSSH public key line ("ssh-ed25519 AAAA... you@laptop"), not a private key',
  );

/** A local path Terraform reads at apply time; it ends up inside an HCL expression. */
const localPath = z
  .string()
  .min(1)
  .refine((p) => !/["\\\r\n]|\$\{|%\{/.test(p), 'must not contain quotes, backslashes, "${" or "%{"');

const tagKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:/=+\-@ ]{1,128}$/, "tag keys: 1-128 letters, digits, spaces or _.:/=+-@");

const imageId = z.string().regex(/^image-[a-z0-9]+$/, 'must look like "image-ybqi99s7yq8rx7mnk44b"');

/**
 * Either a public image looked up with the volcengine_images data source by platform and version
 * prefix (matched against the image's platform_version or name, e.g. "24.04", "12"), or an
 * explicit image id (from the ECS console), which skips the lookup.
 */
export const imageSchema = z
  .strictObject({
    id: imageId.optional(),
    platform: z.enum(["Ubuntu", "Debian"]).optional(),
    version: z
      .string()
      .regex(/^[0-9][0-9.]*$/, 'must be a version such as "24.04" or "12"')
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.id !== undefined && (v.platform !== undefined || v.version !== undefined)) {
      ctx.addIssue({ code: "custom", message: 'set either "id" or "platform" + "version", not both' });
    } else if (v.id === undefined && (v.platform === undefined || v.version === undefined)) {
      ctx.addIssue({
        code: "custom",
        message:
          'set "platform" and "version" (e.g. { "platform": "Ubuntu", "version": "24.04" }) or an explicit { "id": "image-..." }',
      });
    }
  })
  .transform((v): { id: string } | { platform: "Ubuntu" | "Debian"; version: string } =>
    v.id !== undefined ? { id: v.id } : { platform: v.platform!, version: v.version! },
  );

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

const zoneId = z.string().regex(/^[a-z]+-[a-z0-9-]+$/, 'must be a zone id such as "cn-beijing-a"');
const instanceType = z
  .string()
  .regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, 'must be an ECS instance type such as "ecs.c3i.large"');

/** Most bandwidth the EIP API accepts per billing type (provider v0.0.196: "1~500 for PostPaidByBandwidth, 1~200 for PostPaidByTraffic"). */
export const EIP_MAX_BANDWIDTH_MBPS = { PostPaidByBandwidth: 500, PostPaidByTraffic: 200 } as const;

const eipSchema = z
  .strictObject({
    billingType: z.enum(["PostPaidByTraffic", "PostPaidByBandwidth"]).default("PostPaidByTraffic"),
    bandwidthMbps: z.number().int().min(1).max(500).default(5),
    isp: z.enum(["BGP", "ChinaMobile", "ChinaUnicom", "ChinaTelecom"]).default("BGP"),
  })
  .superRefine((eip, ctx) => {
    const max = EIP_MAX_BANDWIDTH_MBPS[eip.billingType];
    // Above 500 the number check has said so already.
    if (eip.bandwidthMbps > max && eip.bandwidthMbps <= EIP_MAX_BANDWIDTH_MBPS.PostPaidByBandwidth)
      ctx.addIssue({
        code: "custom",
        path: ["bandwidthMbps"],
        message: `at most ${max} Mbps with ${eip.billingType} billing (the API refuses more); choose PostPaidByBandwidth for up to 500`,
      });
  })
  .prefault({});

/**
 * An Auto Scaling group on top of the fixed servers (docs/auto-scaling.md): the group's servers
 * boot from the same user data, pull the current release from the backup bucket and join the load
 * balancer's server group. Absent: no group, and the stack is exactly what it was without it.
 */
export const autoScalingSchema = z
  .strictObject({
    /** Fewest servers the group keeps (besides the fixed `servers`). */
    minServers: z.number().int().min(0, "at least 0").max(20, "at most 20").default(0),
    /** Most servers the group may start. */
    maxServers: z
      .number()
      .int()
      .min(1, "at least 1 (a group that may start no server scales nothing)")
      .max(20, "at most 20"),
    /** How many servers the group runs now; default `minServers`. */
    desiredServers: z.number().int().min(0, "at least 0").max(20, "at most 20").optional(),
    /** Instance type of the group's servers; default the environment's `instanceType`. */
    instanceType: instanceType.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.maxServers < a.minServers)
      ctx.addIssue({
        code: "custom",
        path: ["maxServers"],
        message: `must be at least minServers (${a.minServers})`,
      });
    else if (a.desiredServers !== undefined && (a.desiredServers < a.minServers || a.desiredServers > a.maxServers))
      ctx.addIssue({
        code: "custom",
        path: ["desiredServers"],
        message: `must be between minServers (${a.minServers}) and maxServers (${a.maxServers})`,
      });
  });

/**
 * Settings of the load-balanced topology (used only with `"topology": "cluster"`; see
 * docs/scale-out.md). The servers are spread over `zone` and the second zone.
 */
export const clusterSchema = z
  .strictObject({
    /** App servers behind the load balancer, alternating between the two zones. */
    servers: z.number().int().min(2, "a cluster needs at least 2 servers").max(20).default(2),
    /** Zone of every second server; defaults to database.secondaryZone. Must differ from `zone`. */
    secondZone: zoneId.optional(),
    loadBalancer: z
      .strictObject({
        /** CLB specification (capacity); see Volcengine's CLB documentation for the limits of each. */
        spec: z.enum(["small_1", "small_2", "medium_1", "medium_2", "large_1", "large_2"]).default("small_1"),
        /** Billing of the load balancer's public IP (the address clients connect to). */
        eip: eipSchema,
      })
      .prefault({}),
    /**
     * HTTPS at the load balancer with your own certificate: PEM files on the deploying machine,
     * read by Terraform at apply time (never committed, never in user data; they are stored in
     * the Terraform state).
     */
    certificate: z
      .strictObject({
        domain: dnsName,
        certificatePath: localPath,
        privateKeyPath: localPath,
      })
      .optional(),
    /** The app servers have no public IP; they reach the Internet (apt, Node.js) through NAT. */
    natGateway: z.strictObject({ spec: z.enum(["Small", "Medium", "Large"]).default("Small") }).prefault({}),
    /** The SSH jump host; defaults to the app servers' instance type (choose a smaller one if you like). */
    bastion: z.strictObject({ instanceType: instanceType.optional() }).prefault({}),
    /** A scaling group on top of the fixed servers (docs/auto-scaling.md); absent: none. */
    autoScaling: autoScalingSchema.optional(),
  })
  .prefault({});

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

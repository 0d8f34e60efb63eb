import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateBindings } from "../../../infra/bindings/generate.js";
import { EXAMPLE_CONFIG_FILE } from "../../../infra/config/load.js";
import type { Release } from "../releases.js";
import type { MirrorNode } from "../user-data.js";
import type { ListenerSpec } from "./load-balancer.js";
import { type AutoScalingSpec, readAutoScaling } from "./scaling-stack.js";

/**
 * The cluster stack the rehearsal boots: the example configuration's defaults with
 * `"topology": "cluster"`, an `rds` database and `cluster.servers` servers, synthesized by the
 * project's own cdktf app. Everything the rehearsal builds is read from the synthesized JSON: each
 * server's user data, the subnets, the load balancer's listener and server group, the RDS account,
 * database and allowlist, and the deploy step (the null_resources). The one difference from what
 * Volcengine would get: Node.js comes from the rehearsal's own mirror, whose tarball has its own
 * version and SHA-256, written over the pinned ones (user-data.ts does the same for one server).
 */
// biome-ignore lint/suspicious/noExplicitAny: synthesized Terraform JSON, read by the shapes the stack writes
export type TfJson = Record<string, any>;

export interface SynthesizedServer {
  /** 1-based, as in the instance name `<stack>-app-<n>`. */
  index: number;
  resource: string;
  subnetCidr: string;
  userData: string;
}

export interface SynthesizedCluster {
  name: string;
  tf: TfJson;
  servers: SynthesizedServer[];
  bastion: { resource: string; subnetCidr: string; userData: string };
  subnets: string[];
  listener: ListenerSpec;
  groupServers: { port: number; weight: number; instanceResource: string }[];
  rds: { accountName: string; databaseName: string; allowList: string[] };
  /** The backup bucket (the fleet's objects go under fleet/ in it). */
  backupBucket?: string;
  /** `cluster.autoScaling`'s resources, when the stack has them (scaling-stack.ts). */
  scaling?: AutoScalingSpec;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const ENVIRONMENT = "cluster";

export async function synthCluster(opts: {
  /** Where the synthesized JSON goes (a fresh folder under it per synth). */
  workDir: string;
  servers: number;
  release: Release;
  publicKey: string;
  privateKeyPath: string;
  adminCidr: string;
  mirrorUrl: string;
  node: MirrorNode;
  /** `cluster.autoScaling` as the stack configuration takes it; absent: the stack without it. */
  autoScaling?: Record<string, unknown>;
}): Promise<SynthesizedCluster> {
  await generateBindings();
  const [{ parseStackConfig }, { buildApp }] = await Promise.all([
    import("../../../infra/config/load.js"),
    import("../../../infra/app.js"),
  ]);
  const example = JSON.parse(readFileSync(join(root, EXAMPLE_CONFIG_FILE), "utf8")) as TfJson;
  const defaults = { ...example.defaults };
  delete defaults.ssh;
  const environment = {
    ...defaults,
    topology: "cluster",
    image: { platform: "Debian", version: "12" },
    ssh: { publicKey: opts.publicKey, privateKeyPath: opts.privateKeyPath, user: "root", adminCidrs: [opts.adminCidr] },
    database: {
      mode: "rds",
      engineVersion: "PostgreSQL_16",
      nodeSpec: "rds.postgres.1c2g",
      storageGb: 20,
      secondaryZone: "cn-beijing-b",
    },
    cluster: { servers: opts.servers, ...(opts.autoScaling ? { autoScaling: opts.autoScaling } : {}) },
  };
  await mkdir(opts.workDir, { recursive: true });
  const outdir = await mkdtemp(join(opts.workDir, "synth-"));
  const config = parseStackConfig(
    { project: example.project, state: { backend: "local" }, environments: { [ENVIRONMENT]: environment } },
    { source: join(root, "stack.config.json"), env: {} },
  );
  const { app, stacks } = buildApp({ config, release: opts.release, outdir });
  app.synth();
  const name = stacks[0]!.node.id;
  const raw = await readFile(join(outdir, "stacks", name, "cdk.tf.json"), "utf8");
  const tf = localize(JSON.parse(withMirrorNode(raw, opts.mirrorUrl, opts.node)) as TfJson, opts);
  return { name, tf, ...readCluster(tf, opts.mirrorUrl, opts.node), scaling: readAutoScaling(tf) };
}

/** The mirror's Node.js in every user data (fixed servers' and the scaling configuration's; base64 in the JSON). */
export function localize(tf: TfJson, opts: { mirrorUrl: string; node: MirrorNode }): TfJson {
  const r = tf.resource ?? {};
  for (const type of ["volcengine_ecs_instance", "volcengine_scaling_configuration"]) {
    for (const resource of Object.values(r[type] ?? {}) as TfJson[]) {
      if (!resource.user_data || String(resource.user_data).includes("${")) continue;
      const text = withMirrorNode(
        Buffer.from(String(resource.user_data), "base64").toString("utf8"),
        opts.mirrorUrl,
        opts.node,
        true,
      );
      resource.user_data = Buffer.from(text).toString("base64");
    }
  }
  return tf;
}

/** The pinned Node.js (nodejs.org, its version and checksums) replaced by the rehearsal mirror's. */
function withMirrorNode(text: string, mirrorUrl: string, node: MirrorNode, mayHaveNone = false): string {
  const pinned = /NODE_VERSION='([^']+)'/.exec(text)?.[1];
  const sha = /NODE_SHA256_X64='([0-9a-f]{64})'/.exec(text)?.[1];
  const mirror = /NODE_MIRROR='([^']+)'/.exec(text)?.[1];
  if (mayHaveNone && !pinned && !sha && !mirror) return text;
  if (!pinned || !sha || !mirror)
    throw new Error("the deploy step's host settings name no Node.js version, mirror or checksum");
  return text
    .replaceAll(`NODE_VERSION='${pinned}'`, `NODE_VERSION='${node.version}'`)
    .replaceAll(sha, node.sha256X64)
    .replaceAll(`NODE_MIRROR='${mirror}'`, `NODE_MIRROR='${mirrorUrl}'`);
}

function userDataOf(instance: TfJson, mirrorUrl: string, node: MirrorNode): string {
  if (!instance.user_data) return "";
  return withMirrorNode(Buffer.from(String(instance.user_data), "base64").toString("utf8"), mirrorUrl, node, true);
}

const refName = (expr: string) => /^\$\{([\w-]+\.[\w-]+)\.[\w.]+\}$/.exec(expr)?.[1];

function readCluster(tf: TfJson, mirrorUrl: string, node: MirrorNode) {
  const r = tf.resource ?? {};
  const subnetCidrs = new Map<string, string>(
    (Object.entries(r.volcengine_subnet ?? {}) as [string, TfJson][]).map(([key, s]: [string, TfJson]) => [
      `volcengine_subnet.${key}`,
      s.cidr_block,
    ]),
  );
  const subnetOf = (instance: TfJson) => {
    const cidr = subnetCidrs.get(refName(instance.subnet_id) ?? "");
    if (!cidr) throw new Error(`no subnet for ${instance.instance_name}`);
    return cidr;
  };
  const instances = Object.entries(r.volcengine_ecs_instance ?? {}) as [string, TfJson][];
  const servers = instances
    .map(([key, inst]) => ({ key, inst, index: Number(/-app-(\d+)$/.exec(inst.instance_name)?.[1]) }))
    .filter((s) => s.index > 0)
    .sort((a, b) => a.index - b.index)
    .map(({ key, inst, index }) => ({
      index,
      resource: `volcengine_ecs_instance.${key}`,
      subnetCidr: subnetOf(inst),
      userData: userDataOf(inst, mirrorUrl, node),
    }));
  const [bastionKey, bastion] = instances.find(([, inst]) => inst.instance_name.endsWith("-bastion")) ?? [];
  if (!bastion) throw new Error("the synthesized cluster has no bastion");
  const listeners = Object.values(r.volcengine_listener ?? {}) as TfJson[];
  const http = listeners.find((l) => l.protocol === "HTTP");
  if (!http) throw new Error("the synthesized cluster has no HTTP listener");
  const groupServers = (Object.values(r.volcengine_server_group_server ?? {}) as TfJson[]).map((s) => ({
    port: Number(s.port),
    weight: Number(s.weight),
    instanceResource: refName(s.instance_id) ?? "",
  }));
  const account = Object.values(r.volcengine_rds_postgresql_account ?? {})[0] as TfJson;
  const database = Object.values(r.volcengine_rds_postgresql_database ?? {})[0] as TfJson;
  const allowlist = Object.values(r.volcengine_rds_postgresql_allowlist ?? {})[0] as TfJson;
  const bucket = Object.values(r.volcengine_tos_bucket ?? {})[0] as TfJson | undefined;
  return {
    servers,
    ...(bucket ? { backupBucket: String(bucket.bucket_name) } : {}),
    bastion: {
      resource: `volcengine_ecs_instance.${bastionKey}`,
      subnetCidr: subnetOf(bastion),
      userData: userDataOf(bastion, mirrorUrl, node),
    },
    subnets: [...subnetCidrs.values()].sort(),
    listener: { port: Number(http.port), scheduler: String(http.scheduler), healthCheck: http.health_check },
    groupServers,
    rds: {
      accountName: String(account.account_name),
      databaseName: String(database.db_name),
      allowList: [...allowlist.allow_list] as string[],
    },
  };
}

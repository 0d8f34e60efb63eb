import type { TfJson } from "./stack.js";

/**
 * What the rehearsal reads of `cluster.autoScaling` in the synthesized stack: the scaling group,
 * its configuration (with the user data a scaled-out server boots from), the attachment that makes
 * the configuration active, the lifecycle hooks and the enabler, and the IAM roles with the fixed
 * servers' role attachments. Each value is the one Terraform would send; a reference to another
 * resource is kept as its address (`volcengine_subnet.x`) for the stand-in builder to resolve
 * (fleet-cloud.ts). Nothing is assumed that the JSON does not say: a resource that is missing or
 * an attribute of a shape the reader does not know is an error naming it.
 */
export interface Reference {
  /** `volcengine_subnet.network_subnet_E45498CD` */
  address: string;
  /** `id`, `key_pair_name`, `role_name`, ... */
  attribute: string;
}

export type Value = string | Reference;

export interface ScalingGroupSpec {
  resource: string;
  name: string;
  subnets: Reference[];
  multiAzPolicy?: string;
  min: number;
  max: number;
  desired?: number;
  defaultCooldown?: number;
  terminatePolicy?: string;
  serverGroups: { serverGroup: Reference; port: number; weight: number }[];
}

export interface ScalingConfigurationSpec {
  resource: string;
  name: string;
  /** A data source or a literal: the stand-in's Debian 12 image stands for either. */
  image: string;
  instanceTypes: string[];
  instanceName?: string;
  hostName?: string;
  securityGroups: Reference[];
  keyPair?: Value;
  /** Decoded (the stack sends base64). */
  userData: string;
  volumes: { type: string; size: number; deleteWithInstance: boolean }[];
}

export interface LifecycleHookSpec {
  resource: string;
  name: string;
  type: "SCALE_OUT" | "SCALE_IN";
  policy: "CONTINUE" | "REJECT" | "ROLLBACK";
  timeoutSeconds: number;
}

export interface RoleSpec {
  resource: string;
  name: string;
  trustPolicy: string;
}

export interface AutoScalingSpec {
  group: ScalingGroupSpec;
  configuration: ScalingConfigurationSpec;
  /** The configuration the attachment activates (its address). */
  attachmentOf: string;
  hooks: LifecycleHookSpec[];
  /** The group the enabler enables, and what it waits for. */
  enabler: { group: string; dependsOn: string[] };
  roles: RoleSpec[];
  /** Fixed servers' roles: instance resource → role name. */
  roleAttachments: { instance: string; role: string }[];
}

const REF = /^\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)\}$/;

export function referenceOf(value: unknown, what: string): Reference {
  const m = REF.exec(String(value));
  if (!m) throw new Error(`${what}: ${JSON.stringify(value)} is not a reference to a resource`);
  return { address: m[1]!, attribute: m[2]! };
}

function literalOrReference(value: unknown, what: string): Value {
  if (typeof value !== "string") throw new Error(`${what}: ${JSON.stringify(value)} is not a string`);
  return value.includes("${") ? referenceOf(value, what) : value;
}

function only(r: TfJson, type: string): [string, TfJson] {
  const entries = Object.entries(r[type] ?? {}) as [string, TfJson][];
  if (entries.length !== 1)
    throw new Error(`the synthesized stack has ${entries.length} ${type} (the rehearsal reads exactly one)`);
  return entries[0]!;
}

const num = (v: unknown, what: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${what}: ${JSON.stringify(v)} is not a number`);
  return n;
};
const optionalNum = (v: unknown, what: string) => (v === undefined ? undefined : num(v, what));
const list = (v: unknown): TfJson[] => (Array.isArray(v) ? v : v === undefined ? [] : [v as TfJson]);

/** The user data as the provider sends it: base64, literal in the JSON (a Terraform expression is refused). */
export function decodeUserData(value: unknown, what: string): string {
  const text = String(value ?? "");
  if (text.includes("${"))
    throw new Error(`${what}: the user data is a Terraform expression, not base64 the rehearsal can read`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`${what}: the user data is not base64`);
  return Buffer.from(text, "base64").toString("utf8");
}

/** The auto-scaling part of a synthesized stack; undefined when the stack has no scaling group. */
export function readAutoScaling(tf: TfJson): AutoScalingSpec | undefined {
  const r = tf.resource ?? {};
  if (!r.volcengine_scaling_group) return undefined;
  const [groupKey, g] = only(r, "volcengine_scaling_group");
  const groupAddress = `volcengine_scaling_group.${groupKey}`;
  const group: ScalingGroupSpec = {
    resource: groupAddress,
    name: String(g.scaling_group_name),
    subnets: list(g.subnet_ids).map((s, n) => referenceOf(s, `${groupAddress}.subnet_ids[${n}]`)),
    multiAzPolicy: g.multi_az_policy,
    min: num(g.min_instance_number, `${groupAddress}.min_instance_number`),
    max: num(g.max_instance_number, `${groupAddress}.max_instance_number`),
    desired: optionalNum(g.desire_instance_number, `${groupAddress}.desire_instance_number`),
    defaultCooldown: optionalNum(g.default_cooldown, `${groupAddress}.default_cooldown`),
    terminatePolicy: g.instance_terminate_policy,
    serverGroups: list(g.server_group_attributes).map((a, n) => ({
      serverGroup: referenceOf(a.server_group_id, `${groupAddress}.server_group_attributes[${n}]`),
      port: num(a.port, "server_group_attributes.port"),
      weight: num(a.weight ?? 50, "server_group_attributes.weight"),
    })),
  };

  const [configKey, c] = only(r, "volcengine_scaling_configuration");
  const configAddress = `volcengine_scaling_configuration.${configKey}`;
  if (referenceOf(c.scaling_group_id, `${configAddress}.scaling_group_id`).address !== groupAddress)
    throw new Error(`${configAddress} belongs to another scaling group`);
  const configuration: ScalingConfigurationSpec = {
    resource: configAddress,
    name: String(c.scaling_configuration_name),
    image: String(c.image_id),
    instanceTypes: list(c.instance_types).map(String),
    instanceName: c.instance_name,
    hostName: c.host_name,
    securityGroups: list(c.security_group_ids).map((s, n) =>
      referenceOf(s, `${configAddress}.security_group_ids[${n}]`),
    ),
    keyPair:
      c.key_pair_name === undefined ? undefined : literalOrReference(c.key_pair_name, `${configAddress}.key_pair_name`),
    userData: decodeUserData(c.user_data, `${configAddress}.user_data`),
    volumes: list(c.volumes).map((v) => ({
      type: String(v.volume_type),
      size: num(v.size, "volumes.size"),
      deleteWithInstance: v.delete_with_instance !== false,
    })),
  };

  const [, attachment] = only(r, "volcengine_scaling_configuration_attachment");
  const attachmentOf = referenceOf(attachment.scaling_configuration_id, "scaling_configuration_attachment").address;
  if (attachmentOf !== configAddress) throw new Error("the attachment activates another configuration");

  const hooks = (Object.entries(r.volcengine_scaling_lifecycle_hook ?? {}) as [string, TfJson][]).map(([key, h]) => {
    const address = `volcengine_scaling_lifecycle_hook.${key}`;
    if (referenceOf(h.scaling_group_id, `${address}.scaling_group_id`).address !== groupAddress)
      throw new Error(`${address} belongs to another scaling group`);
    return {
      resource: address,
      name: String(h.lifecycle_hook_name),
      type: h.lifecycle_hook_type,
      policy: h.lifecycle_hook_policy,
      timeoutSeconds: num(h.lifecycle_hook_timeout, `${address}.lifecycle_hook_timeout`),
    } as LifecycleHookSpec;
  });

  const [, e] = only(r, "volcengine_scaling_group_enabler");
  const enabler = {
    group: referenceOf(e.scaling_group_id, "scaling_group_enabler.scaling_group_id").address,
    dependsOn: list(e.depends_on).map(String),
  };

  const roles = (Object.entries(r.volcengine_iam_role ?? {}) as [string, TfJson][]).map(([key, role]) => ({
    resource: `volcengine_iam_role.${key}`,
    name: String(role.role_name),
    trustPolicy: String(role.trust_policy_document),
  }));
  const roleName = (v: unknown, what: string) => {
    if (typeof v === "string" && !v.includes("${")) return v;
    const ref = referenceOf(v, what);
    const role = roles.find((x) => x.resource === ref.address);
    if (!role || ref.attribute !== "role_name") throw new Error(`${what}: ${String(v)} names no role of the stack`);
    return role.name;
  };
  const roleAttachments = (Object.entries(r.volcengine_iam_role_attachment ?? {}) as [string, TfJson][]).map(
    ([key, a]) => ({
      instance: referenceOf(a.instance_id, `volcengine_iam_role_attachment.${key}.instance_id`).address,
      role: roleName(a.iam_role_name, `volcengine_iam_role_attachment.${key}.iam_role_name`),
    }),
  );
  return { group, configuration, attachmentOf, hooks, enabler, roles, roleAttachments };
}

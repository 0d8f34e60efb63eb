import { ApiError } from "../../errors.js";

/**
 * IAM policy documents: the syntax IAM documents (a JSON object with a `Statement` list; each
 * statement an `Effect`, `Action`s as `service:Name` with `*` wildcards, `Resource`s as TRNs, and
 * for a role's trust policy a `Principal`), and what the stand-in checks of it. How much the real
 * IAM checks is an open question (answers.ts, iamPolicyCheck): "unchecked" wants JSON with a
 * non-empty `Statement` list only; "checked" checks every statement, and an action must match at
 * least one action the service has (the catalogue below), as IAM's policy editor refuses one that
 * matches none.
 */

/**
 * Actions by service, as Volcengine's IAM names them (the services the project's policies name).
 * For ECS and Auto Scaling (the auto-scaling seed's policy) the IAM service code is taken to be
 * the OpenAPI service name (`ecs`, `auto_scaling`) and the actions the API's own (those the
 * stand-in serves): Volcengine's list of IAM actions per service is not in the material here.
 */
const ACTIONS: Record<string, readonly string[]> = {
  sts: ["AssumeRole"],
  ecs: [
    "AssociateInstancesIamRole",
    "DeleteInstance",
    "DeleteKeyPairs",
    "DescribeImages",
    "DescribeInstanceTypes",
    "DescribeInstances",
    "DescribeInstancesIamRoles",
    "DescribeKeyPairs",
    "DescribeUserData",
    "DescribeZones",
    "DisassociateInstancesIamRole",
    "ImportKeyPair",
    "ModifyInstanceAttribute",
    "ModifyInstanceSpec",
    "ModifyKeyPairAttribute",
    "RunInstances",
    "StartInstance",
    "StopInstance",
  ],
  auto_scaling: [
    "AttachServerGroups",
    "CompleteLifecycleActivity",
    "CreateLifecycleHook",
    "CreateScalingConfiguration",
    "CreateScalingGroup",
    "DeleteLifecycleHook",
    "DeleteScalingConfiguration",
    "DeleteScalingGroup",
    "DescribeLifecycleActivities",
    "DescribeLifecycleHooks",
    "DescribeScalingActivities",
    "DescribeScalingConfigurations",
    "DescribeScalingGroups",
    "DescribeScalingInstances",
    "DetachServerGroups",
    "DisableScalingGroup",
    "EnableScalingConfiguration",
    "EnableScalingGroup",
    "ModifyLifecycleHook",
    "ModifyScalingConfiguration",
    "ModifyScalingGroup",
  ],
  tos: [
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "ListBucket",
    "ListBucketVersions",
    "ListBucketMultipartUploads",
    "PutObject",
    "GetObject",
    "GetObjectVersion",
    "DeleteObject",
    "DeleteObjectVersion",
    "AbortMultipartUpload",
    "ListMultipartUploadParts",
    "PutObjectACL",
    "GetObjectACL",
    "PutBucketACL",
    "GetBucketACL",
    "PutBucketPolicy",
    "GetBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketVersioning",
    "GetBucketVersioning",
    "PutLifecycleConfiguration",
    "GetLifecycleConfiguration",
    "PutBucketTagging",
    "GetBucketTagging",
    "DeleteBucketTagging",
    "PutBucketStorageClass",
    "PutBucketCORS",
    "GetBucketCORS",
    "DeleteBucketCORS",
    "PutBucketEncryption",
    "GetBucketEncryption",
    "DeleteBucketEncryption",
  ],
};

/** Service principals a trust policy may name (`{"Service": [...]}`). */
const SERVICE_PRINCIPALS = ["ecs", "vke", "function", "cloudmonitor", "tos"];

const STATEMENT_KEYS = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "Condition"];

export type DocumentKind = "identity" | "trust";

const malformed = (name: string, why: string) =>
  new ApiError(400, "MalformedPolicyDocument", `${name} is not a policy document: ${why}`);

/** Refuses a document IAM would refuse under the emulator's answer (`checked`: all rules; else JSON and a Statement list). */
export function checkPolicyDocument(name: string, text: string, kind: DocumentKind, checked: boolean): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw malformed(name, (e as Error).message);
  }
  const statements = (doc as { Statement?: unknown } | null)?.Statement;
  if (!Array.isArray(statements) || statements.length === 0) throw malformed(name, "no Statement list");
  if (!checked) return;
  if (typeof doc !== "object" || Array.isArray(doc)) throw malformed(name, "not a JSON object");
  for (const key of Object.keys(doc as object))
    if (key !== "Statement" && key !== "Version") throw malformed(name, `unknown element ${key}`);
  for (const [i, s] of statements.entries()) checkStatement(name, `Statement[${i}]`, s, kind);
}

function checkStatement(name: string, where: string, s: unknown, kind: DocumentKind): void {
  if (!s || typeof s !== "object" || Array.isArray(s)) throw malformed(name, `${where} is not an object`);
  const st = s as Record<string, unknown>;
  for (const key of Object.keys(st))
    if (!STATEMENT_KEYS.includes(key)) throw malformed(name, `${where} has an unknown element ${key}`);
  if (st.Effect !== "Allow" && st.Effect !== "Deny") throw malformed(name, `${where}.Effect must be Allow or Deny`);
  const actions = strings(name, `${where}.Action`, st.Action ?? st.NotAction);
  for (const action of actions) checkAction(name, `${where}.Action`, action);
  if (kind === "trust") {
    checkPrincipal(name, `${where}.Principal`, st.Principal);
  } else {
    if (st.Principal !== undefined) throw malformed(name, `${where}: a policy attached to a role names no Principal`);
    for (const r of strings(name, `${where}.Resource`, st.Resource ?? st.NotResource))
      if (r !== "*" && !/^trn:[a-z0-9_-]+:[^:]*:[^:]*:.+$/.test(r))
        throw malformed(name, `${where}.Resource ${r} is neither * nor a TRN`);
  }
}

function strings(name: string, where: string, v: unknown): string[] {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === "string" && x !== ""))
    throw malformed(name, `${where} must be a string or a non-empty list of strings`);
  return list as string[];
}

function checkAction(name: string, where: string, action: string): void {
  if (action === "*") return;
  const m = /^([a-z0-9_]+):([A-Za-z0-9*]+)$/.exec(action);
  if (!m) throw malformed(name, `${where} ${action} is not service:Action`);
  const known = ACTIONS[m[1]!];
  if (!known) throw malformed(name, `${where} ${action}: unknown service ${m[1]}`);
  const pattern = new RegExp(`^${m[2]!.replace(/\*/g, ".*")}$`, "i");
  if (!known.some((a) => pattern.test(a))) throw malformed(name, `${where} ${action} matches no action of ${m[1]}`);
}

function checkPrincipal(name: string, where: string, p: unknown): void {
  if (!p || typeof p !== "object" || Array.isArray(p)) throw malformed(name, `${where} is missing or not an object`);
  const entries = Object.entries(p as Record<string, unknown>);
  if (entries.length === 0) throw malformed(name, `${where} is empty`);
  for (const [kind, value] of entries) {
    const values = strings(name, `${where}.${kind}`, value);
    if (kind === "Service") {
      for (const v of values)
        if (!SERVICE_PRINCIPALS.includes(v)) throw malformed(name, `${where}.Service ${v} is not a service principal`);
    } else if (kind === "IAM") {
      for (const v of values)
        if (!/^trn:iam::\d+:(root|user\/.+|role\/.+)$/.test(v)) throw malformed(name, `${where}.IAM ${v} is not a TRN`);
    } else if (kind !== "Federated") {
      throw malformed(name, `${where} has an unknown kind ${kind}`);
    }
  }
}

/** The document as IAM answers it: as sent ("verbatim") or re-serialised with sorted keys ("normalised"). */
export function storedDocument(text: string, normalised: boolean): string {
  if (!normalised) return text;
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(JSON.parse(text)));
}

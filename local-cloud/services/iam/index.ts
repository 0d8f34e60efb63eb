import type { Action, Call } from "../../api.js";
import { ApiError, invalid } from "../../errors.js";
import { num, required, str, tags } from "../../params.js";
import type { Resource } from "../../store.js";
import { checkPolicyDocument, type DocumentKind, storedDocument } from "./policy-document.js";

/**
 * IAM roles, custom policies and their attachments (`iam` service, 2018-01-01, a global service).
 * IAM names resources by name, not id; "not exist" errors are what the provider treats as gone.
 */

const NAME = /^[A-Za-z0-9.\-_@+=,]{1,64}$/;

const notExist = (what: string, name: string) =>
  new ApiError(404, `EntityNotExist.${what}`, `${what} ${name} not exist`);

/** When each role may be attached (answers.ts, iamRoleAttach): ms since epoch, beside the store. */
const attachableAt = new WeakMap<Resource, number>();

/** The role for an attachment: while a new role is not yet attachable, IAM answers that it does not exist. */
export function attachableRole(call: Call, name: string): Resource {
  const r = call.store.get("iam-role", name);
  if (!r || call.store.clock() < (attachableAt.get(r) ?? 0)) throw notExist("Role", name);
  return r;
}

function role(call: Call, name: string): Resource {
  const r = call.store.get("iam-role", name);
  if (!r) throw notExist("Role", name);
  return r;
}

/** Checks a document under the emulator's answer and returns what IAM keeps of it. */
function document(call: Call, name: string, text: string, kind: DocumentKind): string {
  checkPolicyDocument(name, text, kind, call.store.answers.iamPolicyCheck === "checked");
  return storedDocument(text, call.store.answers.iamPolicyDocument === "normalised");
}

const now = () =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");

const CreateRole: Action = (call) => {
  const name = required(call.params, "RoleName");
  if (!NAME.test(name)) throw invalid("RoleName", name);
  const trust = document(call, "TrustPolicyDocument", required(call.params, "TrustPolicyDocument"), "trust");
  if (call.store.get("iam-role", name))
    throw new ApiError(409, "EntityAlreadyExists.Role", `Role ${name} already exists`);
  const duration = num(call.params, "MaxSessionDuration") ?? 3600;
  if (duration < 3600 || duration > 43200) throw invalid("MaxSessionDuration", String(duration));
  const id = 100000 + call.store.all("iam-role").length;
  const r = call.store.create("iam-role", name, {
    RoleName: name,
    RoleId: id,
    Trn: `trn:iam::2100000000:role/${name}`,
    DisplayName: str(call.params, "DisplayName") ?? "",
    Description: str(call.params, "Description") ?? "",
    TrustPolicyDocument: trust,
    MaxSessionDuration: duration,
    IsServiceLinkedRole: 0,
    Tags: tags(call.params),
    CreateDate: now(),
    UpdateDate: now(),
  });
  if (call.store.answers.iamRoleAttach === "delayed") attachableAt.set(r, call.store.clock() + call.store.transitionMs);
  return { Role: r.fields };
};

const GetRole: Action = (call) => ({ Role: role(call, required(call.params, "RoleName")).fields });

const ListRoles: Action = (call) => {
  const q = str(call.params, "Query");
  const roles = call.store.all("iam-role").filter((r) => !q || r.id.includes(q));
  return { RoleMetadata: roles.map((r) => r.fields), Total: roles.length, Limit: 100, Offset: 0 };
};

const UpdateRole: Action = (call) => {
  const r = role(call, required(call.params, "RoleName"));
  const changes: Record<string, unknown> = { UpdateDate: now() };
  for (const f of ["DisplayName", "Description", "TrustPolicyDocument"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  if (changes.TrustPolicyDocument)
    changes.TrustPolicyDocument = document(call, "TrustPolicyDocument", String(changes.TrustPolicyDocument), "trust");
  const duration = num(call.params, "MaxSessionDuration");
  if (duration !== undefined) changes.MaxSessionDuration = duration;
  call.store.update(r, changes);
  return {};
};

const DeleteRole: Action = (call) => {
  const r = role(call, required(call.params, "RoleName"));
  const policies = call.store.all("iam-role-policy").filter((a) => a.fields.RoleName === r.id);
  if (policies.length > 0)
    throw new ApiError(
      409,
      "DeleteConflict.Role.Policy",
      `Role ${r.id} still has attached policies: ${policies.map((p) => p.fields.PolicyName).join(", ")}`,
    );
  const instances = call.store.all("instance-role").filter((a) => a.fields.RoleName === r.id);
  if (instances.length > 0)
    throw new ApiError(
      409,
      "DeleteConflict.Role.Instance",
      `Role ${r.id} is still attached to ${instances.map((i) => i.fields.InstanceId).join(", ")}`,
    );
  call.store.delete(r);
  return {};
};

const tagRole =
  (add: boolean): Action =>
  (call) => {
    const names = (call.params.ResourceNames as unknown[] | undefined)?.map(String) ?? [];
    for (const name of names) {
      const r = role(call, name);
      const current = (r.fields.Tags as { Key: string; Value: string }[]) ?? [];
      if (add) {
        const incoming = tags(call.params);
        call.store.update(r, { Tags: [...current.filter((t) => !incoming.some((i) => i.Key === t.Key)), ...incoming] });
      } else {
        const keys = ((call.params.TagKeys as unknown[] | undefined) ?? []).map(String);
        call.store.update(r, { Tags: current.filter((t) => !keys.includes(t.Key)) });
      }
    }
    return {};
  };

const CreatePolicy: Action = (call) => {
  const name = required(call.params, "PolicyName");
  if (!NAME.test(name)) throw invalid("PolicyName", name);
  const doc = document(call, "PolicyDocument", required(call.params, "PolicyDocument"), "identity");
  if (call.store.get("iam-policy", name))
    throw new ApiError(409, "EntityAlreadyExists.Policy", `Policy ${name} already exists`);
  const r = call.store.create("iam-policy", name, {
    PolicyName: name,
    PolicyType: "Custom",
    PolicyTrn: `trn:iam::2100000000:policy/${name}`,
    Description: str(call.params, "Description") ?? "",
    PolicyDocument: doc,
    CreateDate: now(),
    UpdateDate: now(),
    AttachmentCount: 0,
  });
  return { Policy: r.fields };
};

const ListPolicies: Action = (call) => {
  const q = str(call.params, "Query");
  const policies = call.store.all("iam-policy").filter((p) => !q || p.id.includes(q));
  return { PolicyMetadata: policies.map((p) => p.fields), Total: policies.length, Limit: 100, Offset: 0 };
};

const UpdatePolicy: Action = (call) => {
  const p = call.store.get("iam-policy", required(call.params, "PolicyName"));
  if (!p) throw notExist("Policy", String(call.params.PolicyName));
  const sent = str(call.params, "NewPolicyDocument");
  const doc = sent ? document(call, "NewPolicyDocument", sent, "identity") : undefined;
  call.store.update(p, {
    ...(doc ? { PolicyDocument: doc } : {}),
    ...(str(call.params, "NewDescription") !== undefined ? { Description: str(call.params, "NewDescription") } : {}),
    UpdateDate: now(),
  });
  return {};
};

const DeletePolicy: Action = (call) => {
  const name = required(call.params, "PolicyName");
  const p = call.store.get("iam-policy", name);
  if (!p) throw notExist("Policy", name);
  if (call.store.all("iam-role-policy").some((a) => a.fields.PolicyName === name))
    throw new ApiError(409, "DeleteConflict.Policy", `Policy ${name} is still attached`);
  call.store.delete(p);
  return {};
};

const AttachRolePolicy: Action = (call) => {
  const r = attachableRole(call, required(call.params, "RoleName"));
  const name = required(call.params, "PolicyName");
  const type = required(call.params, "PolicyType");
  if (type === "Custom" && !call.store.get("iam-policy", name)) throw notExist("Policy", name);
  const key = `${r.id}:${name}:${type}`;
  if (!call.store.get("iam-role-policy", key)) {
    call.store.create("iam-role-policy", key, {
      RoleName: r.id,
      PolicyName: name,
      PolicyType: type,
      AttachDate: now(),
      PolicyTrn: `trn:iam::2100000000:policy/${name}`,
      Description: "",
    });
  }
  return {};
};

const DetachRolePolicy: Action = (call) => {
  const key = `${required(call.params, "RoleName")}:${required(call.params, "PolicyName")}:${required(call.params, "PolicyType")}`;
  const a = call.store.get("iam-role-policy", key);
  if (!a) throw notExist("RolePolicyAttachment", key);
  call.store.delete(a);
  return {};
};

const ListAttachedRolePolicies: Action = (call) => {
  const r = role(call, required(call.params, "RoleName"));
  return {
    AttachedPolicyMetadata: call.store
      .all("iam-role-policy")
      .filter((a) => a.fields.RoleName === r.id)
      .map((a) => a.fields),
  };
};

export const iamActions = {
  CreateRole,
  GetRole,
  ListRoles,
  UpdateRole,
  DeleteRole,
  TagResources: tagRole(true),
  UntagResources: tagRole(false),
  CreatePolicy,
  ListPolicies,
  UpdatePolicy,
  DeletePolicy,
  AttachRolePolicy,
  DetachRolePolicy,
  ListAttachedRolePolicies,
};

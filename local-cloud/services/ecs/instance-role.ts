import { page, type Action, type Call } from "../../api.js";
import { ApiError, notFound } from "../../errors.js";
import { required, strings } from "../../params.js";
import { attachableRole } from "../iam/index.js";
import { getInstance } from "./instance.js";

/** An IAM role bound to an instance (one per instance), which its metadata service hands credentials for. */
const instanceRoles = (call: Call, instanceId: string) =>
  call.store
    .all("instance-role")
    .filter((r) => r.fields.InstanceId === instanceId)
    .map((r) => String(r.fields.RoleName));

const DescribeInstancesIamRoles: Action = (call) => {
  const ids = strings(call.params, "InstanceIds");
  return page(
    ids.map((id) => ({ InstanceId: id, RoleNames: instanceRoles(call, id) })),
    call.params,
    "InstancesIamRoles",
  );
};

const AssociateInstancesIamRole: Action = (call) => {
  const role = required(call.params, "IamRoleName");
  try {
    attachableRole(call, role);
  } catch {
    throw notFound("role", role).withCode("RoleNotExist");
  }
  const ids = strings(call.params, "InstanceIds");
  for (const id of ids) {
    getInstance(call, id);
    if (instanceRoles(call, id).length > 0)
      throw new ApiError(409, "InvalidOperation.InstanceHasRole", `The instance ${id} already has a role.`);
    call.store.create("instance-role", `${role}:${id}`, { InstanceId: id, RoleName: role });
  }
  return { OperationDetails: ids.map((id) => ({ InstanceId: id })) };
};

const DisassociateInstancesIamRole: Action = (call) => {
  const role = required(call.params, "IamRoleName");
  const ids = strings(call.params, "InstanceIds");
  for (const id of ids) {
    const r = call.store.get("instance-role", `${role}:${id}`);
    if (r) call.store.delete(r);
  }
  return { OperationDetails: ids.map((id) => ({ InstanceId: id })) };
};

export const instanceRoleActions = {
  DescribeInstancesIamRoles,
  AssociateInstancesIamRole,
  DisassociateInstancesIamRole,
};

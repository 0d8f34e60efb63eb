import { page, type Action, type Call } from "../../api.js";
import { invalid, missing, notFound } from "../../errors.js";
import { bool, list, num, required, str, strings, type Params } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import type { Resource } from "../../store.js";
import { imageById } from "../ecs/catalogue.js";
import { conflict, getConfiguration, getGroup, KIND, timestamp } from "./common.js";

/**
 * Scaling configurations: what a group's new instances are made from. The image, key pair,
 * security groups (in the group's VPC) and user data (base64, at most 16 KB: ECS's own rule,
 * checked again by RunInstances at launch) are checked when the configuration is written, so a
 * group never launches from one ECS would refuse. EnableScalingConfiguration makes one the group's
 * active configuration; the others of the group become InActive.
 */

const USER_DATA_MAX = 16 * 1024;

function volumes(call: Call): Record<string, unknown>[] {
  const vs = list(call.params, "Volumes") as Params[];
  if (vs.length === 0) throw missing("Volumes.1.VolumeType");
  return vs.map((v) => {
    const size = num(v, "Size");
    if (size === undefined) throw missing("Volumes.Size");
    return {
      VolumeType: required(v, "VolumeType"),
      Size: size,
      DeleteWithInstance: bool(v, "DeleteWithInstance") ?? true,
    };
  });
}

function checkUserData(value: string | undefined): void {
  if (!value) return;
  const raw = Buffer.from(value, "base64");
  if (raw.toString("base64").replace(/=+$/, "") !== value.replace(/\s/g, "").replace(/=+$/, ""))
    throw invalid("UserData", "must be base64");
  if (raw.length > USER_DATA_MAX) throw invalid("UserData", `${raw.length} bytes exceed ${USER_DATA_MAX}`);
}

/** The fields a Create or Modify call sets, checked against the group's VPC and the ECS catalogue. */
function fieldsFrom(call: Call, group: Resource, create: boolean): Record<string, unknown> {
  const p = call.params;
  const f: Record<string, unknown> = {};
  const name = create ? required(p, "ScalingConfigurationName") : str(p, "ScalingConfigurationName");
  if (name !== undefined) {
    checkName(name, "ScalingConfigurationName");
    f.ScalingConfigurationName = name;
  }
  const image = create ? required(p, "ImageId") : str(p, "ImageId");
  if (image !== undefined) {
    if (!imageById(image)) throw notFound("image", image).withCode("InvalidImage.NotFound");
    f.ImageId = image;
  }
  if (p.InstanceTypes !== undefined || create) {
    const types = strings(p, "InstanceTypes");
    if (types.length === 0) throw missing("InstanceTypes.1");
    f.InstanceTypes = types;
  }
  const instanceName = create ? required(p, "InstanceName") : str(p, "InstanceName");
  if (instanceName !== undefined) {
    checkName(instanceName, "InstanceName");
    f.InstanceName = instanceName;
  }
  if (p.SecurityGroupIds !== undefined || create) {
    const groups = strings(p, "SecurityGroupIds");
    if (groups.length === 0) throw missing("SecurityGroupIds.1");
    for (const g of groups) {
      const sg = call.store.get("security-group", g);
      if (!sg) throw notFound("security group", g).withCode("InvalidSecurityGroup.NotFound");
      if (sg.fields.VpcId !== group.fields.VpcId)
        throw invalid("SecurityGroupIds", `the security group ${g} is not in the scaling group's VPC`);
    }
    f.SecurityGroupIds = groups;
  }
  if (p.Volumes !== undefined || create) f.Volumes = volumes(call);
  const keyPair = str(p, "KeyPairName");
  if (keyPair !== undefined && keyPair !== "") {
    if (!call.store.all("key-pair").some((k) => k.fields.KeyPairName === keyPair))
      throw notFound("key pair", keyPair).withCode("InvalidKeyPair.NotFound");
  }
  if (keyPair !== undefined) f.KeyPairName = keyPair;
  if (str(p, "Password") !== undefined) f._Password = str(p, "Password");
  if (create && !keyPair && !str(p, "Password")) throw missing("KeyPairName");
  const userData = str(p, "UserData");
  if (userData !== undefined) {
    checkUserData(userData);
    f.UserData = userData;
  }
  const description = str(p, "InstanceDescription");
  if (description !== undefined) {
    checkDescription(description, "InstanceDescription");
    f.InstanceDescription = description;
  }
  for (const k of ["HostName", "SecurityEnhancementStrategy", "ProjectName", "SpotStrategy", "HpcClusterId"])
    if (str(p, k) !== undefined) f[k] = str(p, k);
  const eip = p.Eip as Params | undefined;
  if (eip)
    f.Eip = {
      Bandwidth: num(eip, "Bandwidth") ?? 0,
      ISP: str(eip, "ISP") ?? "",
      BillingType: str(eip, "BillingType") ?? "",
    };
  // The provider sends the instances' tags as one JSON object; the API answers them as a list.
  const tagText = str(p, "Tags");
  if (tagText !== undefined) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(tagText) as Record<string, unknown>;
    } catch {
      throw invalid("Tags", "must be a JSON object");
    }
    f.Tags = Object.entries(parsed).map(([Key, Value]) => ({ Key, Value: String(Value) }));
  }
  return f;
}

const CreateScalingConfiguration: Action = (call) => {
  const group = getGroup(call);
  const fields = fieldsFrom(call, group, true);
  const id = call.store.newId("scc");
  call.store.create(KIND.configuration, id, {
    ScalingConfigurationId: id,
    ScalingGroupId: group.id,
    LifecycleState: "InActive",
    HostName: "",
    InstanceDescription: "",
    KeyPairName: "",
    UserData: "",
    SecurityEnhancementStrategy: "Active",
    ProjectName: "default",
    SpotStrategy: "NoSpot",
    HpcClusterId: "",
    Eip: { Bandwidth: 0, ISP: "", BillingType: "" },
    Tags: [],
    ZoneId: "",
    ...fields,
    CreatedAt: timestamp(call),
    UpdatedAt: timestamp(call),
  });
  return { ScalingConfigurationId: id };
};

const DescribeScalingConfigurations: Action = (call) => {
  const ids = strings(call.params, "ScalingConfigurationIds");
  const names = strings(call.params, "ScalingConfigurationNames");
  const groupId = str(call.params, "ScalingGroupId");
  const found = call.store
    .all(KIND.configuration)
    .filter(
      (c) =>
        (ids.length === 0 || ids.includes(c.id)) &&
        (names.length === 0 || names.includes(String(c.fields.ScalingConfigurationName))) &&
        (groupId === undefined || c.fields.ScalingGroupId === groupId),
    );
  return page(
    found.map((c) => Object.fromEntries(Object.entries(c.fields).filter(([k]) => !k.startsWith("_")))),
    call.params,
    "ScalingConfigurations",
  );
};

/** Changes reach the instances launched after them; running instances keep what they were made from. */
const ModifyScalingConfiguration: Action = (call) => {
  const c = getConfiguration(call);
  const group = getGroup(call, String(c.fields.ScalingGroupId));
  call.store.update(c, { ...fieldsFrom(call, group, false), UpdatedAt: timestamp(call) });
  return { ScalingConfigurationId: c.id };
};

const EnableScalingConfiguration: Action = (call) => {
  const group = getGroup(call);
  const c = getConfiguration(call);
  if (c.fields.ScalingGroupId !== group.id)
    throw invalid("ScalingConfigurationId", `${c.id} belongs to the scaling group ${String(c.fields.ScalingGroupId)}`);
  for (const other of call.store.all(KIND.configuration))
    if (other.fields.ScalingGroupId === group.id && other.id !== c.id)
      call.store.update(other, { LifecycleState: "InActive" });
  call.store.update(c, { LifecycleState: "Active" });
  call.store.update(group, { ActiveScalingConfigurationId: c.id });
  return { ScalingConfigurationId: c.id };
};

/** The active configuration of an enabled group is in use; otherwise it can go (the group is left without one). */
const DeleteScalingConfiguration: Action = (call) => {
  const c = getConfiguration(call);
  const group = call.store.get(KIND.group, String(c.fields.ScalingGroupId));
  if (group?.fields.ActiveScalingConfigurationId === c.id) {
    if (group.fields.LifecycleState === "Active")
      throw conflict(
        "InvalidOperation.ScalingConfigurationInUse",
        `The scaling configuration ${c.id} is the active one of the enabled scaling group ${group.id}.`,
      );
    call.store.update(group, { ActiveScalingConfigurationId: "" });
  }
  call.store.delete(c);
  return { ScalingConfigurationId: c.id };
};

export const configurationActions = {
  CreateScalingConfiguration,
  DescribeScalingConfigurations,
  ModifyScalingConfiguration,
  EnableScalingConfiguration,
  DeleteScalingConfiguration,
};

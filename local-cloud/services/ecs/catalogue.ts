import { page, type Action, type Call } from "../../api.js";
import { ApiError, notFound } from "../../errors.js";
import { bool, required, str, strings } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow } from "../../store.js";
import { getInstance } from "./instance.js";

/**
 * What the ECS service knows without anyone creating it (public images, instance types, zones),
 * plus key pairs and instance roles. The catalogue is the stand-in's choice (docs/local-cloud.md):
 * two public Linux images per platform the project supports, cloud-init capable, x86_64.
 */
const IMAGES = [
  {
    ImageId: "image-debian12local0001",
    ImageName: "Debian 12 64 bit",
    Platform: "Debian",
    PlatformVersion: "12",
    OsName: "Debian 12 64 bit",
  },
  {
    ImageId: "image-ubuntu2404local01",
    ImageName: "Ubuntu 24.04 64 bit",
    Platform: "Ubuntu",
    PlatformVersion: "24.04",
    OsName: "Ubuntu 24.04 64 bit",
  },
  {
    ImageId: "image-ubuntu2204local01",
    ImageName: "Ubuntu 22.04 64 bit",
    Platform: "Ubuntu",
    PlatformVersion: "22.04",
    OsName: "Ubuntu 22.04 64 bit",
  },
].map((i) => ({
  ...i,
  OsType: "Linux",
  Visibility: "public",
  IsSupportCloudInit: true,
  Architecture: "amd64",
  BootMode: "UEFI",
  Status: "available",
  Size: 20,
  ShareStatus: "",
  Description: "",
  CreatedAt: "2026-01-01T00:00:00+08:00",
  UpdatedAt: "2026-01-01T00:00:00+08:00",
  ProjectName: "default",
  Tags: [],
  VirtualSize: 20,
  IsLTS: true,
  IsInstallRunCommandAgent: true,
}));

const INSTANCE_TYPES = ["ecs.c3i.large", "ecs.g3il.large", "ecs.g1ie.large", "ecs.g1.large"];
const ZONES = ["cn-beijing-a", "cn-beijing-b", "cn-beijing-c", "cn-shanghai-a", "cn-shanghai-b", "ap-southeast-3a"];

export const imageById = (id: string) => IMAGES.find((i) => i.ImageId === id);

const DescribeImages: Action = ({ params }) => {
  const ids = strings(params, "ImageIds");
  const platform = str(params, "Platform");
  const osType = str(params, "OsType");
  const visibility = str(params, "Visibility");
  const cloudInit = bool(params, "IsSupportCloudInit");
  const type = str(params, "InstanceTypeId");
  if (type && !INSTANCE_TYPES.includes(type)) return page([], params, "Images");
  const found = IMAGES.filter(
    (i) =>
      (ids.length === 0 || ids.includes(i.ImageId)) &&
      (!platform || i.Platform === platform) &&
      (!osType || i.OsType === osType) &&
      (!visibility || i.Visibility === visibility) &&
      (cloudInit === undefined || i.IsSupportCloudInit === cloudInit),
  );
  return page(found, params, "Images");
};

const DescribeInstanceTypes: Action = ({ params }) => {
  const ids = strings(params, "InstanceTypeIds");
  const found = INSTANCE_TYPES.filter((t) => ids.length === 0 || ids.includes(t)).map((t) => ({
    InstanceTypeId: t,
    InstanceTypeFamily: t.split(".").slice(0, 2).join("."),
    Processor: { Cpus: 2 },
    Memory: { Size: 4096, EncryptedSize: 0 },
    Gpu: { GpuDevices: [] },
    Volume: { SupportedVolumeTypes: ["ESSD_PL0", "ESSD_PL1"] },
  }));
  return page(found, params, "InstanceTypes");
};

const DescribeZones: Action = ({ region, params }) => {
  const found = ZONES.filter((z) => z.startsWith(region)).map((z) => ({ ZoneId: z }));
  return page(found, params, "Zones");
};

const ImportKeyPair: Action = ({ params, store }) => {
  const name = required(params, "KeyPairName");
  const publicKey = required(params, "PublicKey");
  checkName(name, "KeyPairName");
  checkDescription(str(params, "Description"));
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?$/.test(publicKey.trim())) {
    throw new ApiError(400, "InvalidKeyPair.Malformed", "The public key is not an OpenSSH public key.");
  }
  if (store.all("key-pair").some((k) => k.fields.KeyPairName === name))
    throw new ApiError(409, "InvalidKeyPair.Duplicate", `A key pair named ${name} already exists.`);
  const id = store.newId("kp");
  store.create("key-pair", id, {
    KeyPairId: id,
    KeyPairName: name,
    Description: str(params, "Description") ?? "",
    PublicKey: publicKey.trim(),
    FingerPrint: `local:${Buffer.from(publicKey).toString("base64").slice(-20)}`,
    CreatedTime: isoNow(),
    UpdatedTime: isoNow(),
    Tags: [],
  });
  return { KeyPairId: id, KeyPairName: name };
};

const DescribeKeyPairs: Action = ({ params, store }) => {
  const ids = strings(params, "KeyPairIds");
  const names = strings(params, "KeyPairNames");
  const name = str(params, "KeyPairName");
  const found = store
    .all("key-pair")
    .filter(
      (k) =>
        (ids.length === 0 || ids.includes(k.id)) &&
        (names.length === 0 || names.includes(String(k.fields.KeyPairName))) &&
        (!name || k.fields.KeyPairName === name),
    );
  return page(
    found.map(({ fields: { PublicKey: _p, ...rest } }) => rest),
    params,
    "KeyPairs",
  );
};

const ModifyKeyPairAttribute: Action = ({ params, store }) => {
  const k = store.get("key-pair", required(params, "KeyPairId"));
  if (!k) throw notFound("key pair", String(params.KeyPairId)).withCode("InvalidKeyPair.NotFound");
  checkDescription(str(params, "Description"));
  store.update(k, { Description: str(params, "Description") ?? "" });
  return {};
};

const DeleteKeyPairs: Action = ({ params, store }) => {
  const names = strings(params, "KeyPairNames");
  for (const name of names) {
    const k = store.all("key-pair").find((x) => x.fields.KeyPairName === name);
    if (!k) throw notFound("key pair", name).withCode("InvalidKeyPair.NotFound");
    const users = store.all("ecs-instance").filter((i) => i.fields.KeyPairName === name);
    if (users.length > 0)
      throw new ApiError(
        409,
        "InvalidOperation.KeyPairInUse",
        `The key pair ${name} is bound to ${users.map((u) => u.id).join(", ")}.`,
      );
    store.delete(k);
  }
  return { OperationDetails: names.map((n) => ({ KeyPairName: n })) };
};

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
  if (!call.store.all("iam-role").some((r) => r.fields.RoleName === role))
    throw notFound("role", role).withCode("RoleNotExist");
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

export const catalogueActions = { DescribeImages, DescribeInstanceTypes, DescribeZones };
export const keyPairActions = { ImportKeyPair, DescribeKeyPairs, ModifyKeyPairAttribute, DeleteKeyPairs };
export const instanceRoleActions = {
  DescribeInstancesIamRoles,
  AssociateInstancesIamRole,
  DisassociateInstancesIamRole,
};

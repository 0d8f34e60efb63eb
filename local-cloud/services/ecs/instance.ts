import { page, type Action, type Call } from "../../api.js";
import { ApiError, invalid, missing, notFound } from "../../errors.js";
import { num, required, str, strings, tags, type Params } from "../../params.js";
import { checkDescription, checkName, ipAt } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";
import { BILLING, eipOf } from "../vpc/eip.js";
import { imageById } from "./catalogue.js";
import { decodeUserData } from "../../booter.js";

/**
 * ECS instances (`ecs` service, 2020-04-01) with their primary network interface and system
 * volume. Status moves CREATING → RUNNING, STOPPING → STOPPED, STARTING → RUNNING, DELETING → gone.
 */

/** The ECS limit on user data: 16 KB before base64 (docs 6396/79337). */
const USER_DATA_MAX = 16 * 1024;

export function getInstance(call: Call, id: string): Resource {
  const r = call.store.get("ecs-instance", id);
  if (!r) throw notFound("instance", id).withCode("InvalidInstance.NotFound");
  return r;
}

function checkUserData(value: string | undefined): void {
  if (value === undefined || value === "") return;
  const raw = Buffer.from(value, "base64");
  if (raw.toString("base64").replace(/=+$/, "") !== value.replace(/\s/g, "").replace(/=+$/, ""))
    throw invalid("UserData", "must be base64");
  if (raw.length > USER_DATA_MAX) throw invalid("UserData", `${raw.length} bytes exceed ${USER_DATA_MAX}`);
}

const RunInstances: Action = (call) => {
  const { params, store } = call;
  const imageId = required(params, "ImageId");
  if (!imageById(imageId)) throw notFound("image", imageId).withCode("InvalidImage.NotFound");
  const instanceType = str(params, "InstanceType") ?? str(params, "InstanceTypeId");
  if (!instanceType) throw missing("InstanceType");
  const zone = required(params, "ZoneId");
  const nic = ((params.NetworkInterfaces as Params[] | undefined) ?? [])[0];
  if (!nic) throw missing("NetworkInterfaces.1.SubnetId");
  const subnetId = required(nic, "SubnetId");
  const groups = strings(nic, "SecurityGroupIds");
  if (groups.length === 0) throw missing("NetworkInterfaces.1.SecurityGroupIds.1");
  const subnet = store.get("subnet", subnetId);
  if (!subnet) throw notFound("subnet", subnetId).withCode("InvalidSubnet.NotFound");
  if (subnet.fields.ZoneId !== zone)
    throw new ApiError(
      400,
      "InvalidParameter.ZoneId",
      `The subnet ${subnetId} is in ${String(subnet.fields.ZoneId)}, not ${zone}.`,
    );
  for (const g of groups) {
    const group = store.get("security-group", g);
    if (!group) throw notFound("security group", g).withCode("InvalidSecurityGroup.NotFound");
    if (group.fields.VpcId !== subnet.fields.VpcId)
      throw new ApiError(
        400,
        "InvalidSecurityGroup.VpcMismatch",
        `The security group ${g} is not in the subnet's VPC.`,
      );
  }
  const volume = ((params.Volumes as Params[] | undefined) ?? [])[0];
  if (!volume) throw missing("Volumes.1.VolumeType");
  const volumeType = required(volume, "VolumeType");
  const size = num(volume, "Size") ?? 40;
  if (volumeType === "ESSD_PL0" && (size < 20 || size > 2048))
    throw invalid("Volumes.1.Size", `${size} GiB is outside 20-2048 for ESSD_PL0`);
  const keyPairName = str(params, "KeyPairName");
  if (keyPairName && !store.all("key-pair").some((k) => k.fields.KeyPairName === keyPairName)) {
    throw notFound("key pair", keyPairName).withCode("InvalidKeyPair.NotFound");
  }
  if (!keyPairName && !str(params, "Password")) throw missing("KeyPairName");
  checkName(str(params, "InstanceName"), "InstanceName");
  checkDescription(str(params, "Description"));
  checkUserData(str(params, "UserData"));

  const id = store.newId("i");
  const used = store.all("network-interface").filter((n) => n.fields.SubnetId === subnetId).length;
  const privateIp = ipAt(String(subnet.fields.CidrBlock), 3 + used);
  const eniId = store.newId("eni");
  store.create("network-interface", eniId, {
    NetworkInterfaceId: eniId,
    Type: "primary",
    InstanceId: id,
    SubnetId: subnetId,
    VpcId: subnet.fields.VpcId,
    ZoneId: zone,
    SecurityGroupIds: groups,
    PrimaryIpAddress: privateIp,
    MacAddress: "00:16:3e:00:00:01",
    Status: "InUse",
    DeviceId: id,
    PortSecurityEnabled: true,
  });
  const volumeId = store.newId("vol");
  store.create("volume", volumeId, {
    VolumeId: volumeId,
    InstanceId: id,
    Kind: "system",
    VolumeType: volumeType,
    Size: String(size),
    ZoneId: zone,
    DeleteWithInstance: true,
    Status: "attached",
    VolumeName: `${id}-system`,
    BillingType: 2,
    PayType: "post",
  });
  store.create(
    "ecs-instance",
    id,
    {
      InstanceId: id,
      InstanceName: str(params, "InstanceName") ?? id,
      Hostname: str(params, "HostName") ?? id,
      Description: str(params, "Description") ?? "",
      ZoneId: zone,
      InstanceTypeId: instanceType,
      ImageId: imageId,
      OsType: "Linux",
      OsName: imageById(imageId)!.OsName,
      Cpus: 2,
      MemorySize: 4096,
      InstanceChargeType: str(params, "InstanceChargeType") ?? "PostPaid",
      KeyPairName: keyPairName ?? "",
      KeyPairId: store.all("key-pair").find((k) => k.fields.KeyPairName === keyPairName)?.id ?? "",
      VpcId: subnet.fields.VpcId,
      NetworkInterfaces: [
        {
          NetworkInterfaceId: eniId,
          Type: "primary",
          SubnetId: subnetId,
          PrimaryIpAddress: privateIp,
          MacAddress: "00:16:3e:00:00:01",
        },
      ],
      UserData: str(params, "UserData") ?? "",
      VolumeIds: [volumeId],
      Tags: tags(params),
      ProjectName: str(params, "ProjectName") ?? "default",
      DeploymentSetId: "",
      SpotStrategy: "NoSpot",
      CreatedAt: isoNow(),
      UpdatedAt: isoNow(),
      ExpiredAt: "",
      StoppedMode: "",
      CpuOptions: { ThreadsPerCore: 2, CoreCount: 1 },
    },
    { from: "CREATING", to: "RUNNING" },
  );
  // ECS gives the key pair's public key to cloud-init through the metadata service (public-keys).
  const publicKey = store.all("key-pair").find((k) => k.fields.KeyPairName === keyPairName)?.fields.PublicKey;
  call.booter?.run({
    instanceId: id,
    hostname: str(params, "HostName") ?? id,
    userData: decodeUserData(str(params, "UserData")),
    publicKeys: typeof publicKey === "string" ? [publicKey] : [],
    network: {
      vpcId: String(subnet.fields.VpcId),
      subnetCidr: String(subnet.fields.CidrBlock),
      privateIpAddress: privateIp,
    },
  });
  return { InstanceIds: [id] };
};

const DescribeInstances: Action = (call) => {
  const ids = strings(call.params, "InstanceIds");
  const found = call.store.all("ecs-instance").filter((r) => ids.length === 0 || ids.includes(r.id));
  return page(
    found.map((r) => describe(call, r)),
    call.params,
    "Instances",
  );
};

/** Whether an EIP bound by AssociateEipAddress shows as `EipAddress` is an open question (answers.ts, instanceEipAddress). */
function describe(call: Call, r: Resource): Record<string, unknown> {
  const { UserData: _u, ...fields } = r.fields;
  if (call.store.answers.instanceEipAddress === "omitted") return fields;
  const eip = call.store
    .all("eip")
    .find(
      (e) => e.fields.InstanceId === r.id && e.fields.InstanceType === "EcsInstance" && e.fields.Status === "Attached",
    );
  if (!eip) return fields;
  return {
    ...fields,
    EipAddress: {
      AllocationId: eip.id,
      IpAddress: eip.fields.EipAddress,
      Bandwidth: eip.fields.Bandwidth,
      ChargeType: BILLING.get(Number(eip.fields.BillingType)),
      ISP: eip.fields.ISP,
    },
  };
}

const DescribeUserData: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  return { InstanceId: r.id, UserData: r.fields.UserData };
};

const ModifyInstanceAttribute: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  const userData = str(call.params, "UserData");
  if (userData !== undefined) {
    checkUserData(userData);
    // "UserData can only be modified while the instance is stopped" (ModifyInstanceAttribute): refused
    // or silently ignored is an open question (answers.ts, userDataWhileRunning).
    if (r.fields.Status !== "STOPPED" && call.store.answers.userDataWhileRunning === "ignored") {
      delete call.params.UserData;
    } else if (r.fields.Status !== "STOPPED") {
      throw new ApiError(
        400,
        "IncorrectInstanceStatus",
        `The instance ${r.id} is ${String(r.fields.Status)}; UserData can only be modified while it is STOPPED.`,
      );
    }
  }
  checkName(str(call.params, "InstanceName"), "InstanceName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = { UpdatedAt: isoNow() };
  for (const f of ["InstanceName", "Description", "UserData"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  call.store.update(r, changes);
  return {};
};

const StopInstance: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  if (r.fields.Status !== "RUNNING")
    throw new ApiError(
      400,
      "IncorrectInstanceStatus",
      `The instance ${r.id} is ${String(r.fields.Status)}, not RUNNING.`,
    );
  call.store.transition(r, "STOPPING", "STOPPED");
  call.booter?.stop(r.id);
  return {};
};

const StartInstance: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  if (r.fields.Status !== "STOPPED")
    throw new ApiError(
      400,
      "IncorrectInstanceStatus",
      `The instance ${r.id} is ${String(r.fields.Status)}, not STOPPED.`,
    );
  call.store.transition(r, "STARTING", "RUNNING");
  call.booter?.start(r.id);
  return {};
};

const ModifyInstanceSpec: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  if (r.fields.Status !== "STOPPED")
    throw new ApiError(400, "IncorrectInstanceStatus", `The instance ${r.id} must be STOPPED to change its type.`);
  call.store.update(r, { InstanceTypeId: required(call.params, "InstanceType") });
  return {};
};

const DeleteInstance: Action = (call) => {
  const r = getInstance(call, required(call.params, "InstanceId"));
  if (eipOf(call, r.id))
    throw new ApiError(409, "InvalidOperation.EipAttached", `The instance ${r.id} still has an elastic IP associated.`);
  if (r.fields.Status === "DELETING") return {};
  call.store.transition(r, "DELETING", "DELETED", "delete");
  call.booter?.remove(r.id);
  // The instance's ENI and system volume go with it, after the same delay.
  for (const kind of ["network-interface", "volume"]) {
    for (const x of call.store.all(kind).filter((x) => x.fields.InstanceId === r.id))
      call.store.transition(x, "Deleting", "Deleted", "delete");
  }
  return {};
};

export const instanceActions = {
  RunInstances,
  DescribeInstances,
  DescribeUserData,
  ModifyInstanceAttribute,
  StopInstance,
  StartInstance,
  ModifyInstanceSpec,
  DeleteInstance,
};

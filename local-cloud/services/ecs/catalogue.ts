import { page, type Action } from "../../api.js";
import { bool, str, strings } from "../../params.js";

/**
 * What the ECS service knows without anyone creating it (public images, instance types, zones).
 * The catalogue is the stand-in's choice (docs/local-cloud.md):
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

export const catalogueActions = { DescribeImages, DescribeInstanceTypes, DescribeZones };

import { page, type Action } from "../api.js";
import { str, strings } from "../params.js";

/** The `storage_ebs` service: an instance's system volume, created and deleted with the instance (ecs/instance.ts). */
const DescribeVolumes: Action = ({ params, store }) => {
  const ids = strings(params, "VolumeIds");
  const instanceId = str(params, "InstanceId");
  const found = store
    .all("volume")
    .filter((r) => (ids.length === 0 || ids.includes(r.id)) && (!instanceId || r.fields.InstanceId === instanceId));
  return page(
    found.map((r) => r.fields),
    params,
    "Volumes",
  );
};

export const storageEbsActions = { DescribeVolumes };

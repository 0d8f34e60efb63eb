import type { Service } from "../../api.js";
import { catalogueActions } from "./catalogue.js";
import { instanceActions } from "./instance.js";
import { instanceRoleActions } from "./instance-role.js";
import { keyPairActions } from "./key-pair.js";

/** The `ecs` service (2020-04-01, query GET): instances, the public catalogue, key pairs, instance roles. */
export const ecsService: Service = {
  ...instanceActions,
  ...catalogueActions,
  ...keyPairActions,
  ...instanceRoleActions,
};

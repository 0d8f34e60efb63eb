import type { CloudInitOptions } from "../../cloud-init/options.js";

/**
 * The auto-scaling variants of a cluster's app servers (docs/auto-scaling.md), as the stack would
 * give them: server 1 publishes (and, with a scaling group, is the seed), the group's servers are
 * fleet members. The other variants (helpers.ts) have neither option.
 */
const bucket = "todo-api-prod-private-1a2b3c4d";
const region = "cn-beijing";
const tos = "https://tos-s3-cn-beijing.volces.com";
const cluster: CloudInitOptions = {
  environment: "prod",
  databaseMode: "rds",
  alertEmail: "ops@example.com",
  adminConsoleCidrs: ["203.0.113.7/32"],
};

/** Server 1 of a cluster with a fleet, as its user data has it: it publishes each deploy. */
export const publisher: CloudInitOptions = {
  ...cluster,
  offsiteBackup: { bucket, region, endpoint: tos, roleName: "todo-api-prod-backup" },
  filesCredentials: { roleName: "todo-api-prod-backup" },
  fleet: { bucket, region, endpoint: tos, member: false },
};

/** Server 1's deploy step: the same, and the seed of the scaling group. */
export const seedServer: CloudInitOptions = {
  ...publisher,
  seed: {
    groupId: "scg-ybqm0yoanrwj4bi1c3ne",
    appRoleName: "todo-api-prod-files",
    region,
    endpoint: "https://open.volcengineapi.com",
  },
};

/** The scaling configuration's user data: a server the group starts. */
export const fleetMember: CloudInitOptions = {
  ...cluster,
  filesCredentials: { roleName: "todo-api-prod-files" },
  fleet: { bucket, region, endpoint: tos, member: true, roleName: "todo-api-prod-files" },
};

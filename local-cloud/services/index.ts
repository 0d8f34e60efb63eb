import type { Service } from "../api.js";
import { networkActions } from "./vpc/network.js";
import { securityGroupActions } from "./vpc/security-group.js";
import { eipActions } from "./vpc/eip.js";
import { instanceActions, instanceNetworkActions, volumeActions } from "./ecs/instance.js";
import { iamActions } from "./iam.js";
import { cloudMonitorActions } from "./cloud-monitor.js";
import { rdsPostgresqlActions } from "./rds-postgresql/instance.js";
import { clbActions, DescribeNetworkInterfaceAttributes } from "./clb/load-balancer.js";
import { certificateActions, natActions } from "./natgateway.js";
import { catalogueActions, instanceRoleActions, keyPairActions } from "./ecs/catalogue.js";

/** Services by the name in the credential scope (lower case), as the provider signs them. */
export const SERVICES: Record<string, Service> = {
  vpc: { ...networkActions, ...securityGroupActions, ...eipActions, ...instanceNetworkActions },
  ecs: { ...instanceActions, ...catalogueActions, ...keyPairActions, ...instanceRoleActions },
  storage_ebs: volumeActions,
  iam: iamActions,
  volc_observe: cloudMonitorActions,
  rds_postgresql: rdsPostgresqlActions,
  clb: { ...clbActions, ...certificateActions },
  natgateway: natActions,
};

// The CLB server lookup reads a server's primary address through this `vpc` action (clb.ts).
SERVICES.vpc = { ...SERVICES.vpc, DescribeNetworkInterfaceAttributes };

import type { Service } from "../api";
import { networkActions } from "./network";
import { securityGroupActions } from "./security-group";
import { eipActions } from "./eip";
import { instanceActions, instanceNetworkActions, volumeActions } from "./ecs-instance";
import { iamActions } from "./iam";
import { cloudMonitorActions } from "./cloud-monitor";
import { rdsPostgresqlActions } from "./rds-postgresql";
import { clbActions, DescribeNetworkInterfaceAttributes } from "./clb";
import { certificateActions, natActions } from "./nat-certificate";
import { catalogueActions, instanceRoleActions, keyPairActions } from "./ecs-catalogue";

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

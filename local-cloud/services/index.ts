import type { Service } from "../api.js";
import { autoScalingService } from "./auto-scaling/index.js";
import { clbService } from "./clb/index.js";
import { cloudMonitorActions } from "./cloud-monitor.js";
import { ecsService } from "./ecs/index.js";
import { iamActions } from "./iam/index.js";
import { natGatewayService } from "./natgateway.js";
import { rdsPostgresqlActions } from "./rds-postgresql/index.js";
import { storageEbsActions } from "./storage-ebs.js";
import { vpcService } from "./vpc/index.js";

/**
 * Services by the name in the credential scope (lower case), as the provider signs them: one file
 * or folder per service. TOS speaks its own protocol (tos/protocol.ts) and is not listed here.
 */
export const SERVICES: Record<string, Service> = {
  vpc: vpcService,
  ecs: ecsService,
  storage_ebs: storageEbsActions,
  iam: iamActions,
  volc_observe: cloudMonitorActions,
  rds_postgresql: rdsPostgresqlActions,
  clb: clbService,
  natgateway: natGatewayService,
  auto_scaling: autoScalingService,
};

import type { Service } from "../../api.js";
import { eipActions } from "./eip.js";
import { networkActions } from "./network.js";
import { networkInterfaceActions } from "./network-interface.js";
import { securityGroupActions } from "./security-group.js";

/** The `vpc` service (2020-04-01, query GET): VPCs and subnets, security groups, EIPs, network interfaces. */
export const vpcService: Service = {
  ...networkActions,
  ...securityGroupActions,
  ...eipActions,
  ...networkInterfaceActions,
};

import type { Service } from "../../api.js";
import { certificateActions } from "./certificate.js";
import { listenerActions } from "./listener.js";
import { loadBalancerActions } from "./load-balancer.js";
import { serverGroupActions } from "./server-group.js";

/** The `clb` service (2020-04-01, query GET). */
export const clbService: Service = {
  ...loadBalancerActions,
  ...listenerActions,
  ...serverGroupActions,
  ...certificateActions,
};

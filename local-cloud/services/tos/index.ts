import { bucketActions } from "./bucket.js";
import { lifecycleActions } from "./lifecycle.js";
import { objectActions } from "./objects.js";
import type { TosAction } from "./request.js";

/** TOS's actions by their API name (protocol.ts names a request). */
export const tosActions: Record<string, TosAction> = { ...bucketActions, ...lifecycleActions, ...objectActions };

import type { HttpBindings } from "@hono/node-server";
import type { Logger } from "../logger.js";
import type { Role } from "../services/account-status.js";
import type { ClientAddressResolver } from "./client-address.js";
import type { Services } from "../services/index.js";

/** What every handler can read from the context. */
export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    requestId: string;
    services: Services;
    logger: Logger;
    /** Who the client is (its address, behind trusted proxies): the HTTP layer's, set by createApp. */
    clientAddress: ClientAddressResolver;
    /** PUBLIC_URL, when configured: the origin apps reach the API at. */
    publicUrl: string | undefined;
    /** Set by `requireAuth`; only read on routes that use it. */
    userId: number;
    /** Set by `requireAuth` from the database (never from the token). */
    role: Role;
  };
}

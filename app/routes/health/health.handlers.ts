import { unavailable } from "../../errors.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import type { liveness, readiness } from "./health.routes.js";

export const live: AppRouteHandler<typeof liveness> = (c) => c.json({ status: "ok" as const }, 200);

export const ready: AppRouteHandler<typeof readiness> = async (c) => {
  try {
    await c.var.services.database.ping();
  } catch (err) {
    c.var.logger.warn({ req_id: c.var.requestId, err: { message: (err as Error).message } }, "database not ready");
    throw unavailable();
  }
  return c.json({ status: "ok" as const }, 200);
};

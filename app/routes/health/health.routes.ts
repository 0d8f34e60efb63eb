import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, json, publicSecurity, variantNames } from "../../http/schemas.js";

const Status = z.object({ status: z.enum(["ok"]).openapi("HealthStatus", variantNames(["ok"])) }).openapi("Status");

export const liveness = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "liveness",
  tags: ["Health"],
  security: publicSecurity,
  summary: "Liveness: the process is up (never touches the database)",
  // 400: a malformed query string is refused on every route (http/query-guard.ts).
  responses: { 200: json(Status, "Alive"), ...errorResponses(400) },
});

export const readiness = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "readiness",
  tags: ["Health"],
  security: publicSecurity,
  summary: "Readiness: the database answers",
  responses: { 200: json(Status, "Ready"), ...errorResponses(400) },
});

import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses, json } from "../../http/schemas.js";

const Status = z.object({ status: z.literal("ok") }).openapi("Status");

export const liveness = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Health"],
  summary: "Liveness: the process is up (never touches the database)",
  responses: { 200: json(Status, "Alive") },
});

export const readiness = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["Health"],
  summary: "Readiness: the database answers",
  responses: { 200: json(Status, "Ready"), ...errorResponses() },
});

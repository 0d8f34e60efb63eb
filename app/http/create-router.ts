import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env.js";
import { validationHook } from "./validation.js";

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ strict: true, defaultHook: validationHook });
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import type { AppEnv } from "../../http/app-env.js";
import type { AppRouteHandler } from "../../http/create-router.js";
import type { Actor } from "../../services/admin.service.js";
import type * as routes from "./admin.routes.js";

/** The signed-in administrator and the client address (as the rate limiter works it out). */
export function actorOf<E extends AppEnv>(c: Context<E>, username: string | null = null): Actor {
  const peer = c.env?.incoming ? getConnInfo(c).remote.address : undefined;
  return {
    id: c.var.userId,
    username,
    address: c.var.clientAddress.resolve(peer, c.req.header("x-forwarded-for")),
  };
}

export const listUsers: AppRouteHandler<typeof routes.listUsers> = async (c) => {
  const q = c.req.valid("query");
  return c.json(
    await c.var.services.admin.listUsers({ q: q.q, disabled: q.disabled, limit: q.limit ?? 20, offset: q.offset ?? 0 }),
    200,
  );
};

export const getUser: AppRouteHandler<typeof routes.getUser> = async (c) =>
  c.json(await c.var.services.admin.getUser(c.req.valid("param").id), 200);

export const disableUser: AppRouteHandler<typeof routes.disableUser> = async (c) =>
  c.json(await c.var.services.admin.setDisabled(actorOf(c), c.req.valid("param").id, true), 200);

export const enableUser: AppRouteHandler<typeof routes.enableUser> = async (c) =>
  c.json(await c.var.services.admin.setDisabled(actorOf(c), c.req.valid("param").id, false), 200);

export const revokeSessions: AppRouteHandler<typeof routes.revokeSessions> = async (c) => {
  await c.var.services.admin.revokeSessions(actorOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const setRole: AppRouteHandler<typeof routes.setRole> = async (c) =>
  c.json(await c.var.services.admin.setRole(actorOf(c), c.req.valid("param").id, c.req.valid("json").role), 200);

export const deleteUser: AppRouteHandler<typeof routes.deleteUser> = async (c) => {
  await c.var.services.admin.deleteUser(actorOf(c), c.req.valid("param").id);
  c.var.services.fileJanitor.poke();
  return c.body(null, 204);
};

export const stats: AppRouteHandler<typeof routes.stats> = async (c) => c.json(await c.var.services.admin.stats(), 200);

export const audit: AppRouteHandler<typeof routes.audit> = async (c) => {
  const q = c.req.valid("query");
  return c.json(await c.var.services.admin.audit(q.limit ?? 20, q.offset ?? 0), 200);
};

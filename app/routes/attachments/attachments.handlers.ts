import type { Context } from "hono";
import type { AppRouteHandler } from "../../http/create-router.js";
import type { PresignedView } from "../../services/attachment-views.js";
import type * as routes from "./attachments.routes.js";

/**
 * The local store signs relative URLs (it is this API); they are made absolute against the origin
 * the client reached the API at (PUBLIC_URL when set). TOS URLs are absolute already.
 */
function absolute(c: Context, request: PresignedView, publicUrl: string | undefined): PresignedView {
  return { ...request, url: new URL(request.url, publicUrl ?? new URL(c.req.url).origin).toString() };
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { attachment, upload } = await c.var.services.attachments.create(
    c.var.userId,
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  c.header("Location", `/api/v1/attachments/${attachment.id}/content`);
  return c.json({ attachment, upload: absolute(c, upload, c.var.publicUrl) }, 201);
};

export const complete: AppRouteHandler<typeof routes.complete> = async (c) =>
  c.json(await c.var.services.attachments.complete(c.var.userId, c.req.valid("param").id), 200);

export const content: AppRouteHandler<typeof routes.content> = async (c) => {
  const download = await c.var.services.attachments.download(c.var.userId, c.req.valid("param").id);
  return c.redirect(absolute(c, download, c.var.publicUrl).url, 302);
};

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await c.var.services.attachments.delete(c.var.userId, c.req.valid("param").id);
  c.var.services.fileJanitor.poke();
  return c.body(null, 204);
};

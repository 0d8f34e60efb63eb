import { createReadStream } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { Readable } from "node:stream";
import { Hono } from "hono";
import { AppError, notFound } from "../../errors.js";
import { attachmentDisposition } from "../../files/content-disposition.js";
import { LOCAL_FILES_PATH, type LocalObjectStore, type Verdict } from "../../files/local-object-store.js";
import type { AppEnv } from "../../http/app-env.js";

const refused = (verdict: Exclude<Verdict<unknown>, { ok: true }>) =>
  new AppError(
    "forbidden",
    verdict.reason === "expired"
      ? "This URL has expired: ask the API for a new one."
      : "This URL is not valid (its signature does not match what it asks for).",
  );

const tooLarge = () => new AppError("payload_too_large", "The upload is larger than the size it was signed for.");

/**
 * The local object store's own routes: the presigned PUT and GET that `LocalObjectStore` signs.
 * They take no bearer token (the signature is the credential, as on TOS), and stand outside
 * /api/v1 and the OpenAPI document: clients reach them only through URLs the API handed out.
 */
export function localFilesRouter(store: LocalObjectStore) {
  const router = new Hono<AppEnv>();

  router.put(`${LOCAL_FILES_PATH}/:key`, async (c) => {
    const key = c.req.param("key");
    const verdict = store.verifyUpload(key, new URL(c.req.url).searchParams, c.req.header("content-type"));
    if (!verdict.ok) throw refused(verdict);
    const { size } = verdict.value;
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > size) throw tooLarge();
    const { temp, commit } = await store.prepareWrite(key);
    const file = await open(temp, "w", 0o600);
    let written = 0;
    let committed = false;
    try {
      const body = c.req.raw.body;
      if (body) {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          written += chunk.byteLength;
          // Counted while streaming: a chunked body has no length to check up front.
          if (written > size) throw tooLarge();
          await file.write(chunk);
        }
      }
      await file.sync();
      await file.close();
      await commit();
      committed = true;
    } finally {
      if (!committed) {
        await file.close().catch(() => {});
        await unlink(temp).catch(() => {});
      }
    }
    return c.body(null, 200);
  });

  router.get(`${LOCAL_FILES_PATH}/:key`, async (c) => {
    const verdict = store.verifyDownload(c.req.param("key"), new URL(c.req.url).searchParams);
    if (!verdict.ok) throw refused(verdict);
    const { key, filename, contentType } = verdict.value;
    const found = await store.head(key);
    if (!found) throw notFound("No such object.");
    const stream = Readable.toWeb(createReadStream(store.path(key))) as ReadableStream;
    return new Response(stream, {
      status: 200,
      headers: {
        "Content-Type": contentType,
        "Content-Length": String(found.size),
        "Content-Disposition": attachmentDisposition(filename),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
      },
    });
  });

  return router;
}

import type { MiddlewareHandler } from "hono";
import { idempotencyKeyReused, stillProcessing, validationFailed } from "../errors.js";
import { requestHash, type StoredResponse, VALID_IDEMPOTENCY_KEY } from "../services/idempotency-store.js";
import { TodosService } from "../services/todos.service.js";
import type { AppEnv } from "./app-env.js";

/** The headers of a first response that a replay repeats (with its status and body). */
const REPLAYED_HEADERS = ["content-type", "location", "etag"];

class Rollback extends Error {}

/**
 * `Idempotency-Key` on the todo and attachment POSTs (after `requireAuth`: keys are per user). Without the header
 * the request runs as in v1. With it, the key is claimed in PostgreSQL first; the handler then runs
 * inside a transaction that also stores its response under the key, so "the todo exists" and "the
 * key has its response" commit together or not at all. A failed request stores nothing and gives
 * the key back, so the client's retry runs afresh.
 */
export const idempotent: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return next();
  if (!VALID_IDEMPOTENCY_KEY.test(key)) {
    throw validationFailed([
      {
        path: "Idempotency-Key",
        message: "must be 1–255 printable ASCII characters, not starting or ending with a space",
      },
    ]);
  }
  const services = c.var.services;
  const userId = c.var.userId;
  const store = services.idempotency;
  services.cleanup.maybeRun(c.var.logger);
  const body = await c.req.text();
  const outcome = await store.claim(userId, key, requestHash(c.req.method, c.req.path, body, c.req.header("if-match")));
  if (outcome.kind === "reused") throw idempotencyKeyReused();
  if (outcome.kind === "in_flight") {
    throw stillProcessing();
  }
  if (outcome.kind === "replay") {
    const { status, headers, body: stored } = outcome.response;
    return c.body(stored, status as 200, { ...headers, "Idempotent-Replayed": "true" });
  }
  try {
    await store.runClaimed(services.database.db, userId, key, outcome.claim, async (trx) => {
      c.set("services", { ...services, todos: new TodosService(trx), attachments: services.attachments.withDb(trx) });
      await next();
      const res = c.res;
      if (c.error || res.status < 200 || res.status >= 300) throw new Rollback();
      const headers: Record<string, string> = {};
      for (const name of REPLAYED_HEADERS) {
        const value = res.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      const response: StoredResponse = { status: res.status, headers, body: await res.clone().text() };
      return { value: undefined, response };
    });
  } catch (err) {
    if (err instanceof Rollback) return; // the handler's error response stands
    throw err;
  } finally {
    c.set("services", services);
  }
};

import { HTTPException } from "hono/http-exception";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Context, MiddlewareHandler } from "hono";
import type { Config } from "./config.js";
import { isDatabaseUnavailable } from "./db/errors.js";
import { AppError, badRequest, internal, notFound, unavailable } from "./errors.js";
import type { AppEnv } from "./http/app-env.js";
import { createRouter } from "./http/create-router.js";
import { MethodNotAllowed, methodGuard, methodsByPath, notFoundOr405 } from "./http/method-not-allowed.js";
import { bodyLimit, payloadTooLarge } from "./http/body-limit.js";
import { ClientAddressResolver } from "./http/client-address.js";
import { queryGuard } from "./http/query-guard.js";
import { rateLimit } from "./http/rate-limit.js";
import { requestId } from "./http/request-id.js";
import { requestLog } from "./http/request-log.js";
import { accessLogger, type Logger } from "./logger.js";
import { LOCAL_FILES_PATH, LocalObjectStore } from "./files/local-object-store.js";
import { adminRouter } from "./routes/admin/admin.index.js";
import { attachmentsRouter } from "./routes/attachments/attachments.index.js";
import { localFilesRouter } from "./routes/local-files/local-files.js";
import { StoreUnavailable } from "./services/attachments.service.js";
import { createConsole } from "./routes/admin-console/console.index.js";
import { accountMailRouter } from "./routes/account-mail/account-mail.index.js";
import { authRouter } from "./routes/auth/auth.index.js";
import { mountDocs } from "./routes/docs/docs.js";
import { healthRouter } from "./routes/health/health.index.js";
import { todosRouter } from "./routes/todos/todos.index.js";
import { usersRouter } from "./routes/users/users.index.js";
import type { Services } from "./services/index.js";

export interface AppDeps {
  config: Pick<Config, "corsOrigins" | "publicUrl" | "trustedProxies">;
  services: Services;
  logger: Logger;
}

/** The whole HTTP API as a Hono app; no sockets, no process state — `TodoServer` serves it. */
export function createApp(deps: AppDeps) {
  const app = createRouter();
  const clientAddress = new ClientAddressResolver(deps.config.trustedProxies);

  app.use("*", requestId);
  app.use("*", async (c, next) => {
    c.set("services", deps.services);
    c.set("clientAddress", clientAddress);
    c.set("logger", deps.logger);
    c.set("publicUrl", deps.config.publicUrl);
    await next();
  });
  app.use("*", requestLog(accessLogger(deps.logger)));
  app.use("*", securityHeaders());
  if (deps.config.corsOrigins.length > 0) {
    const origins = deps.config.corsOrigins;
    app.use(
      "*",
      cors({
        origin: origins.includes("*") ? "*" : origins,
        allowMethods: ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
        allowHeaders: ["Authorization", "Content-Type", "X-Request-Id", "Idempotency-Key", "If-Match", "If-None-Match"],
        exposeHeaders: [
          "X-Request-Id",
          "Retry-After",
          "Location",
          "WWW-Authenticate",
          "ETag",
          "Idempotent-Replayed",
          "RateLimit-Limit",
          "RateLimit-Remaining",
          "RateLimit-Reset",
        ],
        maxAge: 600,
      }),
    );
  }
  app.use(
    "*",
    methodGuard(() => app.routes),
  );
  // The local file store's uploads carry file bytes, limited by their own signed size.
  app.use("*", (c, next) => (c.req.path.startsWith(`${LOCAL_FILES_PATH}/`) ? next() : bodyLimit(c, next)));
  app.use("*", queryGuard);
  // Counted before the body is parsed, so malformed floods are limited too.
  app.on(
    "POST",
    "/api/v1/users",
    rateLimit("register", (c) => c.var.services.registrationLimiter),
  );
  app.on(
    "POST",
    "/api/v1/auth/token",
    rateLimit("login", (c) => c.var.services.loginLimiter),
  );

  const routed = app
    .route("/", healthRouter)
    .route("/", authRouter)
    .route("/", usersRouter)
    .route("/", todosRouter)
    .route("/", accountMailRouter)
    .route("/", adminRouter)
    .route("/", attachmentsRouter);
  const store = deps.services.attachments.store;
  if (store instanceof LocalObjectStore) routed.route("/", localFilesRouter(store));
  routed.route("/", createConsole());
  mountDocs(routed, { publicUrl: deps.config.publicUrl });

  const allowed = methodsByPath(routed.routes);
  routed.notFound((c) => {
    throw notFoundOr405(allowed, c);
  });
  routed.onError((err, c) => errorResponse(err, c, deps.logger));
  return routed;
}

export type TodoApp = ReturnType<typeof createApp>;

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 400) return badRequest(err.message || "Malformed request.");
    if (err.status === 413) return payloadTooLarge();
    if (err.status === 415) return badRequest("Unsupported Content-Type: send application/json.");
    if (err.status === 404) return notFound();
  }
  if (isDatabaseUnavailable(err)) return unavailable();
  return internal();
}

function errorResponse(err: unknown, c: Context<AppEnv>, logger: Logger): Response {
  const appError = toAppError(err);
  const reqId = c.get("requestId");
  if (appError.code === "internal") {
    logger.error({ req_id: reqId, err }, "unhandled error");
  } else if (err instanceof StoreUnavailable) {
    logger.warn({ req_id: reqId, err: { message: (err.cause as Error)?.message } }, "object store unavailable");
  } else if (appError.code === "unavailable" && !(err instanceof AppError)) {
    logger.warn(
      { req_id: reqId, err: { message: (err as Error).message, code: (err as { code?: string }).code } },
      "database unavailable",
    );
  }
  // No cache may keep an error: some carry credentials' fate (401s of /auth/token and /auth/refresh),
  // some come before authentication has marked the response private (a malformed query).
  // requireAuth replaces it with `private, no-cache` on authenticated routes (the contract's header).
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (appError.code === "unauthorized") headers["WWW-Authenticate"] = 'Bearer realm="todo-api"';
  if (appError instanceof MethodNotAllowed) headers.Allow = appError.allow.join(", ");
  if (appError.retryAfterSeconds !== undefined) headers["Retry-After"] = String(appError.retryAfterSeconds);
  if (appError.code === "unavailable") headers["Retry-After"] = "5";
  // The unread rest of an oversized body would poison a kept-alive connection: close it.
  if (appError.code === "payload_too_large") headers.Connection = "close";
  return c.json(appError.toBody(), appError.status, headers);
}

function securityHeaders(): MiddlewareHandler<AppEnv> {
  const api = secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  });
  const docs = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
    },
  });
  // The admin console: its own stylesheet and forms to itself, nothing else (no script at all).
  const adminConsole = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      formAction: ["'self'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
    // Forms must carry their Origin (checked against cross-site posts); links leave no trace elsewhere.
    referrerPolicy: "same-origin",
  });
  return (c, next) => {
    const path = c.req.path;
    if (path === "/docs" || path.startsWith("/docs/")) return docs(c, next);
    if (path === "/admin" || path.startsWith("/admin/")) return adminConsole(c, next);
    return api(c, next);
  };
}

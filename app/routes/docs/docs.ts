import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/app-env.js";
import { declareNulFree } from "./nul-free.js";
import { swaggerAssets } from "./swagger-assets.js";

export const TOKEN_URL = "/api/v1/auth/token";

export interface DocsOptions {
  /** The API's public origin (PUBLIC_URL): `servers` names it, so generated clients default to it. */
  publicUrl?: string | undefined;
}

/** Registers the security schemes and serves `/openapi.json` (OpenAPI 3.1) and `/docs` (Swagger UI). */
export function mountDocs(app: OpenAPIHono<AppEnv>, options: DocsOptions = {}): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An `access_token` from POST /api/v1/auth/token",
  });
  // Listed for /docs only (its Authorize dialog logs in through it; init.js sends the token as
  // bearerAuth); operations name bearerAuth alone, so generators apply one scheme.
  app.openAPIRegistry.registerComponent("securitySchemes", "oauth2", {
    type: "oauth2",
    description: "Password flow: log in with username (or email) and password (what /docs' Authorize uses)",
    // No refreshUrl: /auth/refresh takes JSON, not the OAuth2 refresh_token grant form.
    flows: { password: { tokenUrl: TOKEN_URL, scopes: {} } },
  });

  // Generated once, on first request (after every route is registered), then served from memory.
  let document: unknown;
  app.get("/openapi.json", (c) =>
    c.json(
      (document ??= finishDocument(
        app.getOpenAPI31Document({
          openapi: "3.1.0",
          info: {
            title: "Todo API",
            version: "1.2.0",
            description:
              "Accounts, sessions and todos for the mobile apps. Errors always have the shape `{ error: { code, message, details? } }`.",
            license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
          },
          // Relative without PUBLIC_URL: the document is served by the API it describes, whatever its origin.
          servers: options.publicUrl
            ? [{ url: options.publicUrl, description: "The API" }]
            : [{ url: "/", description: "This API's origin" }],
          tags: [
            {
              name: "Accounts",
              description: "Registration, the signed-in account, password reset and e-mail verification",
            },
            { name: "Sessions", description: "Log in, refresh and log out (access and refresh tokens)" },
            {
              name: "Todos",
              description: "The signed-in user's todos, conditional requests, safe retries and delta sync",
            },
            { name: "Health", description: "Liveness and readiness for load balancers" },
          ],
        }) as unknown as OpenApiDocument,
      )) as object,
    ),
  );

  app.get("/docs", (c) => c.html(DOCS_HTML));
  app.get("/docs/init.js", (c) => c.body(INIT_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  app.get("/docs/swagger-ui-bundle.js", (c) =>
    c.body(swaggerAssets()["swagger-ui-bundle.js"], 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
    }),
  );
  app.get("/docs/swagger-ui.css", (c) =>
    c.body(swaggerAssets()["swagger-ui.css"], 200, {
      "Content-Type": "text/css; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
    }),
  );
}

interface OpenApiDocument {
  components?: { schemas?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
  paths?: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        requestBody?: { required?: boolean; content?: Record<string, unknown> };
        security?: Array<Record<string, string[]>>;
        responses?: Record<string, { headers?: Record<string, unknown>; content?: unknown }>;
      }
    >
  >;
}

/** Operations counted by a rate limiter: every response of theirs carries the RateLimit-* headers. */
const RATE_LIMITED = new Set([
  "registerUser",
  "login",
  "changePassword",
  "requestPasswordReset",
  "requestEmailVerification",
]);
const RATE_LIMIT_HEADERS = {
  "RateLimit-Limit": { description: "Attempts allowed per window", required: true, schema: { type: "integer" } },
  "RateLimit-Remaining": {
    description: "Attempts left in the current window",
    required: true,
    schema: { type: "integer" },
  },
  "RateLimit-Reset": { description: "Seconds until the window resets", required: true, schema: { type: "integer" } },
};
/**
 * Every authenticated operation is limited per account (services/account-share.ts). Its headers
 * come on the answers that passed authentication; an answer refused before it (a malformed query,
 * an oversized body) has none, so they are declared but not required.
 */
const ACCOUNT_LIMIT_HEADERS = Object.fromEntries(
  Object.entries(RATE_LIMIT_HEADERS).map(([name, spec]) => [
    name,
    { ...spec, required: false, description: `${spec.description.replace("Attempts", "Requests of this account")}` },
  ]),
);
const ACCOUNT_LIMITED_429 = {
  description: "Too many requests of this account (`rate_limited`): over its requests per minute, or too many at once",
  headers: {
    "Retry-After": { description: "Seconds to wait before retrying", required: true, schema: { type: "integer" } },
  },
};

const UNCOUNTED_STATUSES = new Set(["400", "401", "413", "500", "503"]);
const REQUEST_ID_HEADER = {
  "X-Request-Id": {
    description: "Echo of a valid incoming X-Request-Id, else a generated one",
    required: true,
    schema: { type: "string" },
  },
};

/** Headers sent on every response (X-Request-Id), or on every response of an operation (RateLimit-*), declared once here. */
function finishDocument(doc: OpenApiDocument): OpenApiDocument {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const operation of Object.values(item)) {
      const limited = operation.operationId !== undefined && RATE_LIMITED.has(operation.operationId);
      if (operation.operationId === "login" && operation.requestBody) {
        // Required (see auth.routes.ts for why the route says otherwise), and the OAuth2 form only:
        // generators given two media types pick one and drop the other's fields. JSON login stays
        // accepted on the wire for the clients of earlier versions.
        operation.requestBody.required = true;
        delete operation.requestBody.content?.["application/json"];
      }
      const authenticated = (operation.security ?? doc.security ?? []).some((s) => Object.keys(s).length > 0);
      if (authenticated && operation.responses && !operation.responses["429"]) {
        // The error body as the operation's other errors declare it (the 401 every such operation has).
        operation.responses["429"] = {
          ...structuredClone(ACCOUNT_LIMITED_429),
          content: operation.responses["401"]?.content,
        };
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        // Answers given before the limiter counted the request (no or a revoked token, a body too
        // large, a malformed query, an outage) cannot say what is left: there the headers may be absent.
        const counted = !UNCOUNTED_STATUSES.has(status);
        const rateLimit = Object.fromEntries(
          Object.entries(RATE_LIMIT_HEADERS).map(([name, header]) => [name, { ...header, required: counted }]),
        );
        const perAccount = authenticated && !limited && status !== "401" ? ACCOUNT_LIMIT_HEADERS : {};
        response.headers = {
          ...REQUEST_ID_HEADER,
          ...(limited ? rateLimit : {}),
          ...perAccount,
          ...response.headers,
        };
      }
    }
  }
  delete doc.components?.schemas?.LoginRequest; // only the JSON login used it
  declareNulFree(doc);
  return doc;
}

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todo API — documentation</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// In a file of its own so the Content-Security-Policy needs no 'unsafe-inline' for scripts.
// Operations ask for bearerAuth alone; a token from the Authorize dialog's password flow (oauth2)
// is sent as that bearer token.
const INIT_JS = `function withPasswordFlowToken(request) {
  var auth = window.ui && window.ui.authSelectors.authorized().toJS();
  var token = auth && auth.oauth2 && auth.oauth2.token && auth.oauth2.token.access_token;
  if (token && !request.headers.Authorization) request.headers.Authorization = "Bearer " + token;
  return request;
}
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  requestInterceptor: withPasswordFlowToken,
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  tryItOutEnabled: true
});
`;

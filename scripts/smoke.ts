import { randomBytes } from "node:crypto";
import { runMain } from "./lib/main.js";
import { apiRequest, type ApiReply, type ApiRequestInit } from "./lib/api-request.js";

/**
 * `npm run smoke -- <base-url>`: drives a deployed API the way a mobile client does — health,
 * register, log in (password form), create / list / complete / delete a todo, refresh the tokens,
 * log out — printing each step and, on failure, what was expected and what came back. The account
 * it creates is deleted at the end. Exit status 0 only if every step passed.
 *
 * runSmoke() is the same as a function, for the rehearsal and tests.
 */
export interface SmokeStep {
  name: string;
  ok: boolean;
  ms: number;
  /** What went wrong (never a token or password). */
  detail?: string;
}

export interface SmokeResult {
  ok: boolean;
  steps: SmokeStep[];
}

export interface SmokeOptions {
  /** Called once per finished step (default: print to stdout). */
  report?: (step: SmokeStep) => void;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

/** The smoke test reads fields off JSON bodies it has just checked the status of. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Reply = ApiReply & { body: any };

class StepFailed extends Error {}

const printStep = (step: SmokeStep) => {
  const line = `${step.ok ? "ok  " : "FAIL"} ${step.name} (${step.ms} ms)${step.detail ? `\n     ${step.detail}` : ""}`;
  process.stdout.write(`${line}\n`);
};

export async function runSmoke(baseUrl: string, options: SmokeOptions = {}): Promise<SmokeResult> {
  const base = new URL(baseUrl);
  const report = options.report ?? printStep;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const steps: SmokeStep[] = [];

  async function call(method: string, path: string, init: Omit<ApiRequestInit, "timeoutMs"> = {}): Promise<Reply> {
    try {
      return await apiRequest(base.href, method, path, { ...init, timeoutMs });
    } catch (err) {
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new StepFailed(`${method} ${path}: request failed: ${cause}`);
    }
  }

  function expectStatus(reply: Reply, status: number, what: string): void {
    if (reply.status !== status) {
      const shown = reply.text.length > 300 ? `${reply.text.slice(0, 300)}…` : reply.text;
      throw new StepFailed(`${what}: expected HTTP ${status}, got ${reply.status}: ${shown || "(empty body)"}`);
    }
  }

  function check(condition: unknown, message: string): void {
    if (!condition) throw new StepFailed(message);
  }

  async function step(name: string, body: () => Promise<void>): Promise<boolean> {
    const started = Date.now();
    let result: SmokeStep;
    try {
      await body();
      result = { name, ok: true, ms: Date.now() - started };
    } catch (err) {
      const detail =
        err instanceof StepFailed
          ? err.message
          : `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
      result = { name, ok: false, ms: Date.now() - started, detail };
    }
    steps.push(result);
    report(result);
    return result.ok;
  }

  const suffix = randomBytes(4).toString("hex");
  const username = `smoke_${suffix}`;
  const email = `smoke_${suffix}@example.com`;
  const password = randomBytes(18).toString("base64url");
  let access = "";
  let refresh = "";
  let todoId: number | undefined;

  const plan: Array<[string, () => Promise<void>]> = [
    [
      "GET /healthz",
      async () => {
        const r = await call("GET", "/healthz");
        expectStatus(r, 200, "liveness");
        check(r.body?.status === "ok", `liveness: expected {"status":"ok"}, got ${r.text}`);
      },
    ],
    ["GET /readyz (database reachable)", async () => expectStatus(await call("GET", "/readyz"), 200, "readiness")],
    [
      "register a user",
      async () => {
        const r = await call("POST", "/api/v1/users", { json: { username, email, password, full_name: "Smoke Test" } });
        expectStatus(r, 201, "POST /api/v1/users");
        check(r.body?.username === username, `register: the response does not echo the username: ${r.text}`);
        check(
          !/password|hash/i.test(Object.keys(r.body ?? {}).join(",")),
          "register: the response exposes a password field",
        );
      },
    ],
    [
      "log in (password form, as OAuth2 clients do)",
      async () => {
        const r = await call("POST", "/api/v1/auth/token", { form: { grant_type: "password", username, password } });
        expectStatus(r, 200, "POST /api/v1/auth/token");
        check(
          typeof r.body?.access_token === "string" && typeof r.body?.refresh_token === "string",
          "login: no access_token/refresh_token in the response",
        );
        check(
          String(r.body?.token_type).toLowerCase() === "bearer",
          `login: token_type is ${r.body?.token_type}, expected bearer`,
        );
        access = r.body.access_token;
        refresh = r.body.refresh_token;
      },
    ],
    [
      "GET /api/v1/users/me",
      async () => {
        const r = await call("GET", "/api/v1/users/me", { token: access });
        expectStatus(r, 200, "GET /api/v1/users/me");
        check(r.body?.email === email, `me: expected email ${email}, got ${r.body?.email}`);
      },
    ],
    [
      "create a todo",
      async () => {
        const due = new Date(Date.now() + 86_400_000).toISOString();
        const r = await call("POST", "/api/v1/todos", {
          token: access,
          json: { title: "Smoke test todo", description: "created by scripts/smoke.ts", due_date: due },
        });
        expectStatus(r, 201, "POST /api/v1/todos");
        check(Number.isInteger(r.body?.id), `create: no integer id in ${r.text}`);
        check(r.body.completed === false, "create: a new todo is already completed");
        todoId = r.body.id;
        check(
          r.headers.get("location") === `/api/v1/todos/${todoId}`,
          `create: Location is ${r.headers.get("location")}`,
        );
      },
    ],
    [
      "list todos",
      async () => {
        const r = await call("GET", "/api/v1/todos?limit=20", { token: access });
        expectStatus(r, 200, "GET /api/v1/todos");
        check(Array.isArray(r.body?.items), `list: no items array in ${r.text.slice(0, 200)}`);
        check(
          r.body.items.some((t: { id: number }) => t.id === todoId),
          "list: the new todo is not in the list",
        );
        check(r.body.total === 1, `list: expected total 1 for a new user, got ${r.body.total}`);
      },
    ],
    [
      "complete the todo",
      async () => {
        const r = await call("POST", `/api/v1/todos/${todoId}/complete`, { token: access });
        expectStatus(r, 200, "POST /api/v1/todos/{id}/complete");
        check(r.body?.completed === true, "complete: the todo is not completed");
        const done = await call("GET", "/api/v1/todos?completed=true", { token: access });
        expectStatus(done, 200, "GET /api/v1/todos?completed=true");
        check(
          done.body?.items?.some((t: { id: number }) => t.id === todoId),
          "complete: not listed under completed=true",
        );
      },
    ],
    [
      "delete the todo",
      async () => {
        expectStatus(
          await call("DELETE", `/api/v1/todos/${todoId}`, { token: access }),
          204,
          "DELETE /api/v1/todos/{id}",
        );
        const gone = await call("GET", `/api/v1/todos/${todoId}`, { token: access });
        expectStatus(gone, 404, "GET of the deleted todo");
        check(gone.body?.error?.code === "not_found", `deleted todo: expected error code not_found, got ${gone.text}`);
      },
    ],
    [
      "refresh the tokens",
      async () => {
        const r = await call("POST", "/api/v1/auth/refresh", { json: { refresh_token: refresh } });
        expectStatus(r, 200, "POST /api/v1/auth/refresh");
        check(
          typeof r.body?.access_token === "string" && r.body.refresh_token !== refresh,
          "refresh: no new token pair",
        );
        access = r.body.access_token;
        refresh = r.body.refresh_token;
        expectStatus(
          await call("GET", "/api/v1/users/me", { token: access }),
          200,
          "GET /api/v1/users/me with the new access token",
        );
      },
    ],
    [
      "log out",
      async () => {
        expectStatus(
          await call("POST", "/api/v1/auth/logout", { json: { refresh_token: refresh } }),
          204,
          "POST /api/v1/auth/logout",
        );
        const again = await call("POST", "/api/v1/auth/refresh", { json: { refresh_token: refresh } });
        expectStatus(again, 401, "refresh after logout");
      },
    ],
    [
      "delete the smoke-test account",
      async () => {
        expectStatus(await call("DELETE", "/api/v1/users/me", { token: access }), 204, "DELETE /api/v1/users/me");
        expectStatus(
          await call("GET", "/api/v1/users/me", { token: access }),
          401,
          "GET /api/v1/users/me after deletion",
        );
      },
    ],
  ];

  for (const [name, body] of plan) {
    if (!(await step(name, body))) {
      // Leave no account behind if we got far enough to log in.
      if (access && name !== "delete the smoke-test account") {
        await call("DELETE", "/api/v1/users/me", { token: access }).catch(() => undefined);
      }
      return { ok: false, steps };
    }
  }
  return { ok: true, steps };
}

async function main(argv: string[]): Promise<number> {
  const url = argv[0];
  if (!url || !/^https?:\/\//.test(url)) {
    process.stderr.write("usage: npm run smoke -- <base-url>   e.g. npm run smoke -- http://203.0.113.10\n");
    return 2;
  }
  process.stdout.write(`smoke test of ${url}\n`);
  const started = Date.now();
  const result = await runSmoke(url);
  const failed = result.steps.filter((s) => !s.ok).length;
  process.stdout.write(
    result.ok
      ? `all ${result.steps.length} steps passed in ${Date.now() - started} ms\n`
      : `${failed} step failed after ${result.steps.length - failed} passed\n`,
  );
  return result.ok ? 0 : 1;
}

runMain(import.meta.url, "smoke", main);

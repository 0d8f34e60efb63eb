import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

/**
 * A mobile client's session written against the client that openapi-typescript + openapi-fetch
 * generate from the published document: typed end to end, with no casts and no hand-written
 * types. test/app/generated-client.test.ts type-checks it (strict, exactOptionalPropertyTypes)
 * and runs it against the real server.
 */
export interface FlowDeps {
  baseUrl: string;
  /** Reads the password-reset code from the mail the server sent to `email`. */
  readResetCode(email: string): Promise<string>;
}

function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
}

export async function runFlow({ baseUrl, readResetCode }: FlowDeps): Promise<string[]> {
  const api = createClient<paths>({ baseUrl });
  const steps: string[] = [];
  const username = `gen_${randomUUID().slice(0, 8)}`;
  const email = `${username}@example.com`;
  const password = "generated client password";

  // register → login
  const registered = await api.POST("/api/v1/users", { body: { username, email, password } });
  check(registered.data !== undefined, "register", registered.error);
  check(registered.data.email_verified === false, "a new address starts unverified");
  steps.push(`register ${registered.response.status}`);
  const login = await api.POST("/api/v1/auth/token", { body: { username, password } });
  check(login.data !== undefined, "login", login.error);
  let tokens = login.data;
  const auth = () => ({ Authorization: `Bearer ${tokens.access_token}` });
  steps.push(`login ${login.response.status} ${login.response.headers.get("Cache-Control")}`);

  // first sync: nothing yet, and a cursor for what follows
  const initial = await api.GET("/api/v1/todos/changes", { headers: auth() });
  check(initial.data !== undefined, "initial sync", initial.error);
  check(initial.data.changes.length === 0 && !initial.data.has_more, "an empty account syncs empty", initial.data);
  const cursor = initial.data.next_cursor;
  steps.push(`sync ${initial.data.changes.length}`);

  // create, then the same request again as a retry after a lost response
  const key = randomUUID();
  const draft = { title: "Written offline", due_date: "2026-12-01T09:00:00+08:00" };
  const created = await api.POST("/api/v1/todos", {
    params: { header: { "Idempotency-Key": key } },
    body: draft,
    headers: auth(),
  });
  check(created.data !== undefined, "create", created.error);
  const retried = await api.POST("/api/v1/todos", {
    params: { header: { "Idempotency-Key": key } },
    body: draft,
    headers: auth(),
  });
  check(retried.data !== undefined, "retried create", retried.error);
  check(retried.data.id === created.data.id, "the retry returns the same todo", [created.data.id, retried.data.id]);
  check(retried.response.headers.get("Idempotent-Replayed") === "true", "the retry is a replay");
  steps.push(`create ${created.response.status}, retry ${retried.response.status} replayed`);

  // the delta since the first sync: exactly that one todo
  const delta = await api.GET("/api/v1/todos/changes", { params: { query: { cursor } }, headers: auth() });
  check(delta.data !== undefined, "delta sync", delta.error);
  const titles = delta.data.changes.map((change) =>
    change.type === "upsert" && change.todo ? change.todo.title : `deleted ${change.id}`,
  );
  check(titles.length === 1 && titles[0] === draft.title, "the delta holds the new todo once", titles);
  steps.push(`delta ${titles.join(",")}`);

  // two devices edit the same version: the second learns of the conflict
  const etag = created.response.headers.get("ETag");
  check(etag === `"${created.data.version}"`, "the ETag is the version", etag);
  const id = created.data.id;
  const phone = await api.PATCH("/api/v1/todos/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { completed: true },
    headers: auth(),
  });
  check(phone.data !== undefined && phone.data.version === 2, "the first edit applies", phone.error);
  const tablet = await api.PATCH("/api/v1/todos/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { title: "Stale edit" },
    headers: auth(),
  });
  check(
    tablet.error !== undefined && tablet.error.error.code === "precondition_failed",
    "the stale edit is refused",
    tablet.response.status,
  );
  steps.push(`conflict ${tablet.response.status} ${tablet.error.error.code}`);

  // refresh
  const refreshed = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } });
  check(refreshed.data !== undefined, "refresh", refreshed.error);
  tokens = refreshed.data;
  const me = await api.GET("/api/v1/users/me", { headers: auth() });
  check(me.data !== undefined && me.data.username === username, "the new access token works", me.error);
  steps.push(`refresh ${refreshed.response.status}`);

  // forgot the password: reset by mail
  const asked = await api.POST("/api/v1/auth/password-reset", { body: { email } });
  check(asked.data !== undefined && asked.data.status === "accepted", "reset requested", asked.error);
  const code = await readResetCode(email);
  const newPassword = "a new generated password";
  const confirmed = await api.POST("/api/v1/auth/password-reset/confirm", {
    body: { token: code, new_password: newPassword },
  });
  check(confirmed.response.status === 204, "reset confirmed", confirmed.error);
  const stale = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: tokens.refresh_token } });
  check(stale.error !== undefined && stale.error.error.code === "unauthorized", "the reset ended every session");
  const again = await api.POST("/api/v1/auth/token", { body: { username: email, password: newPassword } });
  check(again.data !== undefined, "login with the new password", again.error);
  steps.push(`reset ${asked.response.status} ${confirmed.response.status}, login ${again.response.status}`);
  return steps;
}

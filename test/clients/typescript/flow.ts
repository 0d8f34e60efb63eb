// A mobile app's first session with the typescript-fetch client generated from the served
// document (v1.2). Run by test/clients/generated-clients.test.ts: `flow.ts <base URL>`; prints
// `STEP <name>` per step passed, `FAIL <name>: <why>` and exit 1 on the first that fails.
// Type-checked on its own, with the generated client, by the suite (the repo's tsconfig excludes it).
import {
  AccountsApi,
  AttachmentsApi,
  AttachmentStatus,
  ChangeType,
  Configuration,
  type ErrorBody,
  ErrorBodyFromJSON,
  ErrorCode,
  GrantType,
  ResponseError,
  SessionsApi,
  TodoFromJSON,
  TodoToJSON,
  TodoClearableField,
  TodosApi,
  TodoSort,
  UserClearableField,
} from "./client/index";

const baseUrl = process.argv[2] ?? "";
let step = "start";
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}
function passed(name: string): void {
  console.log(`STEP ${name}`);
}
async function errorOf(call: Promise<unknown>): Promise<{ status: number; body: ErrorBody }> {
  try {
    await call;
  } catch (e) {
    if (e instanceof ResponseError)
      return { status: e.response.status, body: ErrorBodyFromJSON(await e.response.json()) };
    throw e;
  }
  throw new Error("expected an error response");
}

async function main(): Promise<void> {
  let accessToken = "";
  const config = new Configuration({ basePath: baseUrl, accessToken: () => accessToken });
  const accounts = new AccountsApi(config);
  const sessions = new SessionsApi(config);
  const todos = new TodosApi(config);
  const attachments = new AttachmentsApi(config);
  const username = `ts${Date.now().toString(36)}`;
  const password = "correct horse battery staple";

  step = "register";
  const user = await accounts.registerUser({
    registerRequest: { username, email: `${username}@example.com`, password, fullName: "Tess Script" },
  });
  check(user.username === username && user.fullName === "Tess Script", "registered user");
  passed(step);

  step = "login";
  let token = await sessions.login({ username, password, grantType: GrantType.PASSWORD });
  accessToken = token.accessToken;
  check((await accounts.getMe()).id === user.id, "the token is the new user's");
  passed(step);

  step = "create";
  const key = `ts-${Date.now()}`;
  const draft = { title: "Buy milk", description: "2 litres", dueDate: new Date("2026-12-24T18:00:00Z") };
  const created = await todos.createTodoRaw({ createTodoRequest: draft, idempotencyKey: key });
  const first = await created.value();
  check(created.raw.status === 201 && first.version === 1, "created");
  passed(step);

  step = "create-retried";
  const again = await todos.createTodoRaw({ createTodoRequest: draft, idempotencyKey: key });
  check((await again.value()).id === first.id, "the retry returns the same todo");
  check(again.raw.headers.get("Idempotent-Replayed") === "true", "the retry is a replay");
  passed(step);

  step = "list-and-page";
  for (const title of ["Call mum", "Water plants"]) await todos.createTodo({ createTodoRequest: { title } });
  const page1 = await todos.listTodos({ limit: 2, offset: 0, sort: TodoSort.CREATED_AT_ASCENDING });
  const page2 = await todos.listTodos({ limit: 2, offset: 2, sort: TodoSort.CREATED_AT_ASCENDING });
  const titles = [...page1.items, ...page2.items].map((t) => t.title);
  check(page1.total === 3 && titles.join(",") === "Buy milk,Call mum,Water plants", `pages: ${titles}`);
  passed(step);

  step = "read-etag";
  const read = await todos.getTodoRaw({ id: first.id });
  const etag = read.raw.headers.get("ETag") ?? "";
  check(etag === `"${(await read.value()).version}"`, `ETag ${etag}`);
  passed(step);

  step = "update-if-match";
  const updated = await todos.updateTodo({ id: first.id, ifMatch: etag, updateTodoRequest: { title: "Buy oat milk" } });
  check(updated.title === "Buy oat milk" && updated.version === 2, "updated");
  passed(step);

  step = "update-stale-412";
  const stale = await errorOf(todos.updateTodo({ id: first.id, ifMatch: etag, updateTodoRequest: { title: "x" } }));
  check(stale.status === 412 && stale.body.error.code === ErrorCode.PRECONDITION_FAILED, `got ${stale.status}`);
  passed(step);

  step = "clear-field";
  const cleared = await todos.updateTodo({
    id: first.id,
    updateTodoRequest: { clear: [TodoClearableField.DUE_DATE, TodoClearableField.DESCRIPTION] },
  });
  check(cleared.dueDate === null && cleared.description === null && cleared.title === "Buy oat milk", "cleared");
  const me = await accounts.updateMe({ updateMeRequest: { clear: [UserClearableField.FULL_NAME] } });
  check(me.fullName === null, "full_name cleared");
  passed(step);

  step = "complete";
  const done = await todos.completeTodo({ id: first.id, idempotencyKey: `${key}-done` });
  check(done.completed, "completed");
  passed(step);

  // The bytes go to storage with the presigned request (plain fetch, no Authorization: the URL is
  // signed), not through the API.
  step = "attachment";
  const bytes = new TextEncoder().encode("a note from the TypeScript flow\n");
  const reserved = await attachments.createAttachment({
    id: first.id,
    idempotencyKey: `${key}-file`,
    createAttachmentRequest: { filename: "note.txt", contentType: "text/plain", size: bytes.length },
  });
  const { method, url, headers } = reserved.upload;
  const put = await fetch(url, { method, headers, body: bytes });
  check(put.ok, `upload answered ${put.status}`);
  const ready = await attachments.completeAttachment({ id: reserved.attachment.id });
  check(ready.status === AttachmentStatus.READY, "ready");
  const withFile = await todos.getTodo({ id: first.id });
  check(withFile.attachments.map((a) => a.id).join() === reserved.attachment.id, "the todo lists it");
  // The attachment was a change of the todo: its version grew.
  check(withFile.version === done.version + 1, `version ${withFile.version}`);
  const content = await attachments.getAttachmentContentRaw({ id: reserved.attachment.id });
  const downloaded = new Uint8Array(await content.raw.arrayBuffer());
  check(Buffer.from(downloaded).equals(Buffer.from(bytes)), "downloads what was uploaded (fetch follows the 302)");
  passed(step);

  step = "sync-from-start";
  let cursor: string | undefined;
  let seen = 0;
  for (let more = true; more; ) {
    const page = await todos.listTodoChanges({ cursor, limit: 2 });
    for (const change of page.changes) if (change.type === ChangeType.UPSERT && change.todo) seen += 1;
    cursor = page.nextCursor;
    more = page.hasMore;
  }
  check(seen === 3, `${seen} upserts`);
  passed(step);

  step = "delete";
  await todos.deleteTodo({ id: first.id, ifMatch: `"${withFile.version}"` });
  check((await errorOf(todos.getTodo({ id: first.id }))).status === 404, "gone");
  passed(step);

  step = "sync-tombstone";
  const delta = await todos.listTodoChanges({ cursor });
  const tombstone = delta.changes.find((c) => c.type === ChangeType.DELETE);
  check(delta.changes.length === 1 && tombstone?.id === first.id && tombstone.deletedAt !== undefined, "tombstone");
  passed(step);

  step = "refresh";
  token = await sessions.refreshToken({ refreshRequest: { refreshToken: token.refreshToken } });
  accessToken = token.accessToken;
  check((await accounts.getMe()).id === user.id, "the new access token works");
  passed(step);

  step = "logout";
  await sessions.logout({ refreshRequest: { refreshToken: token.refreshToken } });
  const after = await errorOf(sessions.refreshToken({ refreshRequest: { refreshToken: token.refreshToken } }));
  check(after.status === 401 && after.body.error.code === ErrorCode.UNAUTHORIZED, "the login is over");
  passed(step);

  step = "decode-added-field";
  const later = TodoFromJSON({ ...TodoToJSON(updated), priority: 1 });
  check(later.id === first.id, "a todo with a field added by a later release");
  passed(step);
}

main().catch((e: unknown) => {
  console.log(`FAIL ${step}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

import pg from "pg";
import { afterAll, beforeAll, expect } from "vitest";
import {
  type Account,
  type Client,
  client,
  newAccount,
  type StartOptions,
  startTestApp,
  type TestApp,
} from "../../harness/support/app-harness.js";
import { createTestDatabase } from "./database.js";

/**
 * An attachment suite: its own database and one server with the local file store (the API's
 * stand-in for object storage, as on `npm start`). The janitor runs only when a test asks (or a
 * deletion pokes it), so a test decides when objects go.
 */
export function filesSuite(options: () => Omit<StartOptions, "databaseUrl"> = () => ({})) {
  let app: TestApp | undefined;
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let connection: pg.Client | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    const given = options();
    app = await startTestApp({
      fileJanitorIntervalMs: 0,
      ...given,
      env: { FILES_STORAGE: "local", ...given.env },
      databaseUrl: db.url,
    });
    connection = new pg.Client({ connectionString: db.url });
    await connection.connect();
  });
  afterAll(async () => {
    await connection?.end();
    await app?.close();
    await db?.drop();
  });
  const started = () => {
    if (!app) throw new Error("the suite has not started");
    return app;
  };
  return {
    api: client(() => started().url),
    get app() {
      return started();
    },
    query: <R extends pg.QueryResultRow = any>(text: string, values?: unknown[]) => connection!.query<R>(text, values),
  };
}

export const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(100, 7)]);

export async function todoOf(api: Client, acct: Account, title = "with files") {
  const res = await api.post("/api/v1/todos", { token: acct.access, json: { title } });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: number; version: number };
}

export async function startUpload(
  api: Client,
  acct: Account,
  todoId: number,
  body: { filename?: string; content_type?: string; size?: number } = {},
  headers: Record<string, string> = {},
) {
  return api.post(`/api/v1/todos/${todoId}/attachments`, {
    token: acct.access,
    headers,
    json: { filename: "photo.png", content_type: "image/png", size: PNG.length, ...body },
  });
}

/** Sends bytes with the presigned upload exactly as the API described it. */
export async function upload(up: { method: string; url: string; headers: Record<string, string> }, bytes: Uint8Array) {
  return fetch(up.url, { method: up.method, headers: up.headers, body: bytes });
}

/** An attachment created, uploaded and completed. */
export async function readyAttachment(api: Client, acct: Account, todoId: number, bytes: Uint8Array = PNG) {
  const created = await startUpload(api, acct, todoId, { size: bytes.length });
  expect(created.status, created.text).toBe(201);
  expect((await upload(created.body.upload, bytes)).status).toBe(200);
  const done = await api.post(`/api/v1/attachments/${created.body.attachment.id}/complete`, { token: acct.access });
  expect(done.status, done.text).toBe(200);
  return done.body as { id: string; size: number; status: string };
}

export { newAccount };

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPgCluster, type PgCluster } from "../../harness/support/pg-cluster.js";
import { client, newAccount, startTestApp, type TestApp } from "../../harness/support/app-harness.js";

/**
 * Stops and restarts PostgreSQL under a running app. Uses a cluster of its own so files running
 * in parallel on the shared cluster are never disturbed.
 */
let cluster: PgCluster;
let app: TestApp;

beforeAll(async () => {
  cluster = await startPgCluster();
  app = await startTestApp({ databaseUrl: cluster.url });
});

afterAll(async () => {
  await app?.close().catch(() => {});
  await cluster?.destroy();
});

describe("when PostgreSQL goes away and comes back", () => {
  it("answers 503 unavailable while it is down, stays alive, and recovers by itself", async () => {
    const api = client(app.url);
    const acct = await newAccount(api);
    const todo = await api.post("/api/v1/todos", { token: acct.access, json: { title: "survives" } });
    expect(todo.status).toBe(201);

    await cluster.stop();

    expect((await api.get("/healthz")).status).toBe(200);
    const ready = await api.get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ error: { code: "unavailable", message: expect.any(String) } });
    for (const res of [
      await api.get("/api/v1/todos", { token: acct.access }),
      await api.get(`/api/v1/todos/${todo.body.id}`, { token: acct.access }),
      await api.post("/api/v1/todos", { token: acct.access, json: { title: "lost?" } }),
      await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } }),
      await api.get("/api/v1/users/me", { token: acct.access }),
    ]) {
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
    }
    // Token checks need no database: a bad token is still 401, not 503.
    expect((await api.get("/api/v1/todos", { token: "bad" })).status).toBe(401);

    await cluster.start();

    expect((await api.get("/readyz")).status).toBe(200);
    const list = await api.get("/api/v1/todos", { token: acct.access });
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { title: string }) => t.title)).toEqual(["survives"]);
    expect(
      (await api.post("/api/v1/auth/token", { form: { username: acct.username, password: acct.password } })).status,
    ).toBe(200);
    const logs = app.logs.map((l) => JSON.parse(l));
    expect(logs.some((l) => l.msg === "database unavailable" || l.msg === "database not ready")).toBe(true);
  });
});

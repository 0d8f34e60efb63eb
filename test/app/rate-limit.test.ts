import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../support/database.js";
import { client, startTestApp, uniqueName, type TestApp } from "../../harness/support/app-harness.js";

/**
 * The limiter's clock is pinned per test (a different minute each), so a window boundary can
 * never split a test and the tests never wait for real time to pass.
 */
let dbUrl: string;
let drop: () => Promise<void>;
const apps: TestApp[] = [];
let minute = Date.UTC(2030, 0, 1, 0, 0, 0);

beforeAll(async () => {
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await drop?.();
});

/** A clock 10 s into a fresh minute; `advance()` moves it to the next minute. */
function freshClock() {
  minute += 5 * 60_000;
  let t = minute + 10_000;
  return { now: () => t, advance: () => (t += 60_000) };
}

async function start(env: Record<string, string>, now: () => number) {
  const app = await startTestApp({ databaseUrl: dbUrl, env: { RATE_LIMIT_PER_MINUTE: "3", ...env }, now });
  apps.push(app);
  return client(app.url);
}

const register = (api: ReturnType<typeof client>, headers: Record<string, string> = {}) => {
  const username = uniqueName();
  return api.post("/api/v1/users", {
    json: { username, email: `${username}@example.com`, password: "password123" },
    headers,
  });
};
const login = (api: ReturnType<typeof client>, headers: Record<string, string> = {}) =>
  api.post("/api/v1/auth/token", { form: { username: "nobody", password: "wrong-password" }, headers });

describe("rate limiting", () => {
  it("POST /api/v1/users: the 4th attempt in a minute is 429 with Retry-After; the next minute is fresh", async () => {
    const clock = freshClock();
    const api = await start({}, clock.now);
    expect((await register(api)).status).toBe(201);
    expect((await api.post("/api/v1/users", { json: { username: "x" } })).status).toBe(422); // invalid attempts count too
    expect((await register(api)).status).toBe(201);
    const limited = await register(api);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(limited.headers.get("retry-after")).toBe("50");
    clock.advance();
    expect((await register(api)).status).toBe(201);
  });

  it("POST /api/v1/auth/token is limited separately from registration; other routes are not limited", async () => {
    const clock = freshClock();
    const api = await start({}, clock.now);
    for (let i = 0; i < 3; i++) expect((await login(api)).status).toBe(401);
    const limited = await login(api);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await register(api)).status).toBe(201);
    for (let i = 0; i < 5; i++)
      expect((await api.post("/api/v1/auth/refresh", { json: { refresh_token: "x" } })).status).toBe(401);
  });

  it("ignores X-Forwarded-For when the peer is not a trusted proxy", async () => {
    const clock = freshClock();
    const api = await start({}, clock.now);
    for (let i = 0; i < 3; i++) expect((await login(api, { "x-forwarded-for": `198.51.100.${i}` })).status).toBe(401);
    expect((await login(api, { "x-forwarded-for": "198.51.100.99" })).status).toBe(429);
  });

  it("behind a trusted proxy, limits per client from X-Forwarded-For (right-most untrusted address)", async () => {
    const clock = freshClock();
    const api = await start({ TRUSTED_PROXIES: "127.0.0.1,10.0.0.0/8" }, clock.now);
    for (let i = 0; i < 3; i++) expect((await login(api, { "x-forwarded-for": "203.0.113.7" })).status).toBe(401);
    expect((await login(api, { "x-forwarded-for": "203.0.113.7" })).status).toBe(429);
    // A client cannot escape by prepending a fake address: the proxy appends the real one.
    expect((await login(api, { "x-forwarded-for": "192.0.2.1, 203.0.113.7" })).status).toBe(429);
    // Trusted hops on the right are skipped.
    expect((await login(api, { "x-forwarded-for": "203.0.113.7, 10.1.2.3" })).status).toBe(429);
    // Another client is counted on its own.
    expect((await login(api, { "x-forwarded-for": "203.0.113.8" })).status).toBe(401);
    // Without the header the proxy itself is the client.
    for (let i = 0; i < 3; i++) expect((await login(api)).status).toBe(401);
    expect((await login(api)).status).toBe(429);
  });

  it("two app instances (separate servers and pools) on one database share one limit", async () => {
    const clock = freshClock();
    const a = await start({}, clock.now);
    const b = await start({}, clock.now);
    expect((await login(a)).status).toBe(401);
    expect((await login(b)).status).toBe(401);
    expect((await login(a)).status).toBe(401);
    expect((await login(b)).status).toBe(429);
    expect((await login(a)).status).toBe(429);
  });
});

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { apiSuite } from "../support/api-suite.js";
import { newAccount, type Client } from "../../harness/support/app-harness.js";

/** v1.1: a refresh token retired less than REFRESH_REUSE_GRACE_SECONDS ago may be presented again. */
const suite = apiSuite({}, { env: { REFRESH_REUSE_GRACE_SECONDS: "0" } });
const { api, sql: sqlClient } = suite;

const refresh = (c: Client, token: string) => c.post("/api/v1/auth/refresh", { json: { refresh_token: token } });
const age = (token: string, seconds: number) =>
  sqlClient.query(`update refresh_tokens set used_at = used_at - make_interval(secs => $2) where token_hash = $1`, [
    createHash("sha256").update(token).digest("hex"),
    seconds,
  ]);

describe("refresh reuse grace window", () => {
  it("two parallel refreshes with one token both succeed with the same successor, which keeps working", async () => {
    const acct = await newAccount(api);
    const [a, b] = await Promise.all([refresh(api, acct.refresh), refresh(api, acct.refresh)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).toBe(b.body.refresh_token);
    for (const pair of [a.body, b.body])
      expect((await api.get("/api/v1/users/me", { token: pair.access_token })).status).toBe(200);
    expect((await refresh(api, a.body.refresh_token)).status).toBe(200);
  });

  it("a token retired by a release that gave random successors gets one successor within the window", async () => {
    const acct = await newAccount(api);
    // What such a release left behind: the token used a moment ago, its successor a random one.
    await sqlClient.query("update refresh_tokens set used_at = now() where token_hash = $1", [
      createHash("sha256").update(acct.refresh).digest("hex"),
    ]);
    const first = await refresh(api, acct.refresh);
    const second = await refresh(api, acct.refresh);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.refresh_token).toBe(first.body.refresh_token);
  });

  it("a retry after a lost response gets a pair of the same login; after the window, reuse revokes the login", async () => {
    const acct = await newAccount(api);
    const lost = await refresh(api, acct.refresh);
    const retry = await refresh(api, acct.refresh);
    expect(retry.status).toBe(200);
    await age(acct.refresh, 31);
    const late = await refresh(api, acct.refresh);
    expect(late.status).toBe(401);
    expect(late.body.error.code).toBe("unauthorized");
    // The whole login is revoked, including the pairs handed out in the window.
    expect((await refresh(api, lost.body.refresh_token)).status).toBe(401);
    expect((await refresh(api, retry.body.refresh_token)).status).toBe(401);
  });

  it("no grace for a revoked login (logout), nor with REFRESH_REUSE_GRACE_SECONDS=0", async () => {
    const acct = await newAccount(api);
    const next = await refresh(api, acct.refresh);
    expect((await api.post("/api/v1/auth/logout", { json: { refresh_token: next.body.refresh_token } })).status).toBe(
      204,
    );
    expect((await refresh(api, acct.refresh)).status).toBe(401);

    const strictApi = suite.clients[1]!;
    const other = await newAccount(strictApi);
    expect((await refresh(strictApi, other.refresh)).status).toBe(200);
    expect((await refresh(strictApi, other.refresh)).status).toBe(401);
  });
});

import { describe, expect, it } from "vitest";
import { legacyCursor } from "../../app/services/sync-cursor.js";
import { apiSuite } from "../support/api-suite.js";
import { newAccount, type Account } from "../../harness/support/app-harness.js";

/**
 * Sync cursors are signed by the server: a client cannot forge an issue time (a cursor that never
 * expires) or use another user's cursor. Unsigned cursors that shipped apps hold keep working while
 * they are plausible, and expire with the retention like any cursor.
 */
const { api } = apiSuite();

const changes = (acct: Account, cursor?: string) =>
  api.get(`/api/v1/todos/changes${cursor === undefined ? "" : `?cursor=${encodeURIComponent(cursor)}`}`, {
    token: acct.access,
  });
const decoded = (cursor: string) => Buffer.from(cursor, "base64url").toString("utf8");
const encoded = (text: string) => Buffer.from(text, "utf8").toString("base64url");

describe("signed sync cursors", () => {
  it("an issued cursor works for its user only", async () => {
    const acct = await newAccount(api);
    const other = await newAccount(api);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "t" } });
    const first = await changes(acct);
    expect(first.status).toBe(200);
    expect(first.body.next_cursor.length).toBeLessThanOrEqual(200);
    expect((await changes(acct, first.body.next_cursor)).status).toBe(200);
    const foreign = await changes(other, first.body.next_cursor);
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe("bad_request");
  });

  it("a forged issue time or change number is 400, whatever the signature", async () => {
    const acct = await newAccount(api);
    const cursor = (await changes(acct)).body.next_cursor as string;
    const [version, seq, issued, mac] = decoded(cursor).split(".");
    expect(version).toBe("v2");
    const future = String(Number(issued) + 10 * 365 * 86_400);
    for (const forged of [
      encoded([version, seq, future, mac].join(".")),
      encoded([version, String(Number(seq) + 1), issued, mac].join(".")),
      encoded([version, seq, issued].join(".")),
      encoded([version, seq, issued, "A".repeat(43)].join(".")),
    ]) {
      const res = await changes(acct, forged);
      expect(res.status, decoded(forged)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
    }
  });

  it("a cursor in a non-canonical base64 spelling is 400", async () => {
    const acct = await newAccount(api);
    // 16 bytes: the last base64 character carries 4 unused bits.
    const cursor = legacyCursor(10, Date.now() - 1000);
    // Flip the unused low bits of the last character: the same bytes, another spelling.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(cursor.at(-1)!);
    const twin = cursor.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(twin, "base64url").equals(Buffer.from(cursor, "base64url"))).toBe(true);
    expect((await changes(acct, cursor)).status).toBe(410); // well-formed, ahead of the account
    expect((await changes(acct, twin)).status).toBe(400);
  });
});

describe("unsigned cursors of apps already shipped", () => {
  it("keep working while issued in the past and within the retention", async () => {
    const acct = await newAccount(api);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "before" } });
    const head = (await changes(acct)).body;
    const seq = Number(decoded(head.next_cursor).split(".")[1]);
    await api.post("/api/v1/todos", { token: acct.access, json: { title: "after" } });
    const res = await changes(acct, legacyCursor(seq, Date.now() - 3_600_000));
    expect(res.status).toBe(200);
    expect(res.body.changes.map((c: { todo: { title: string } }) => c.todo.title)).toEqual(["after"]);
    expect(decoded(res.body.next_cursor).startsWith("v2.")).toBe(true);
  });

  it("one with an issue time in the future (forged to never expire) is 400; one past the retention 410", async () => {
    const acct = await newAccount(api);
    expect((await changes(acct, legacyCursor(0, Date.now() + 86_400_000))).status).toBe(400);
    expect((await changes(acct, legacyCursor(0, Date.now() - 31 * 86_400_000))).status).toBe(410);
  });
});

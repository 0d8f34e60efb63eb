import { afterEach, describe, expect, it, vi } from "vitest";
import { AccessTokens } from "../../app/services/access-tokens.js";

/** The verification cache must never outlive a token's expiry or accept what jose would not. */
const settings = { secret: new TextEncoder().encode("k".repeat(40)), issuer: "iss", audience: "aud", ttlSeconds: 60 };

afterEach(() => {
  vi.useRealTimers();
});

describe("AccessTokens", () => {
  it("a cached token stops being accepted the moment it expires", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2030-01-01T00:00:00Z"));
    const tokens = new AccessTokens(settings);
    const token = await tokens.issue(42);
    expect(await tokens.verify(token)).toBe(42);
    vi.setSystemTime(new Date("2030-01-01T00:00:59Z"));
    expect(await tokens.verify(token)).toBe(42); // served from the cache
    vi.setSystemTime(new Date("2030-01-01T00:01:00Z"));
    await expect(tokens.verify(token)).rejects.toMatchObject({
      code: "unauthorized",
      message: "The access token has expired.",
    });
  });

  it("does not cache failures, and a token from another key is never accepted", async () => {
    const tokens = new AccessTokens(settings);
    const other = new AccessTokens({ ...settings, secret: new TextEncoder().encode("z".repeat(40)) });
    const foreign = await other.issue(1);
    await expect(tokens.verify(foreign)).rejects.toMatchObject({ code: "unauthorized" });
    await expect(tokens.verify(foreign)).rejects.toMatchObject({ code: "unauthorized" });
    expect(await other.verify(foreign)).toBe(1);
  });
});

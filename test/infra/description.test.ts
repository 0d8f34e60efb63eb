import { describe, expect, it } from "vitest";
import { API_DESCRIPTION_PATTERN, apiDescription } from "../../infra/constructs/description.js";

describe("apiDescription", () => {
  it("keeps valid text as it is", () => {
    for (const text of [
      "Todo API network of todo-api-dev",
      "API over HTTPS for api.example.com",
      "备份 todo，完成。",
      "a = b, c_d.",
    ]) {
      expect(apiDescription(text)).toBe(text);
    }
  });

  it("turns what the APIs refuse into something they accept", () => {
    expect(apiDescription("Todo API network (todo-api-dev)")).toBe("Todo API network todo-api-dev");
    expect(apiDescription("SSH from admin CIDRs only; HTTP/HTTPS from anywhere")).toBe(
      "SSH from admin CIDRs only HTTP HTTPS from anywhere",
    );
    expect(apiDescription("CPU above 80% for 5 minutes")).toBe("CPU above 80 for 5 minutes");
    expect(apiDescription("-- all outbound (Let's Encrypt)")).toBe("all outbound Let s Encrypt");
    expect(apiDescription("x".repeat(300))).toHaveLength(255);
  });

  it("always returns text matching the documented rule, or refuses", () => {
    const samples = ["(a)", "/readyz", "  é ü ", "app server 1", "ok\u0000bad", "%%%%a", "。开头", "Z"];
    for (const text of samples) {
      let out: string | undefined;
      try {
        out = apiDescription(text);
      } catch (err) {
        expect((err as Error).message).toContain("nothing usable left");
        continue;
      }
      expect(out, text).toMatch(API_DESCRIPTION_PATTERN);
    }
    expect(() => apiDescription("(); /")).toThrow(/nothing usable left/);
  });
});

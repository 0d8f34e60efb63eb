import { describe, expect, it } from "vitest";
import { lineRelay, plainBanner } from "../../harness/schemathesis/relay.js";

describe("the fuzz run's relayed report", () => {
  it("makes schemathesis's pytest-style closing banner plain, keeping its words", () => {
    expect(plainBanner("============================= 3 warnings in 44.79s =============================")).toBe(
      "schemathesis: 3 warnings in 44.79s",
    );
    expect(plainBanner("=== 2 failures, 1 warning in 3.10s ===")).toBe("schemathesis: 2 failures, 1 warning in 3.10s");
  });

  it("makes its section titles plain too, so no pytest-like rule is left", () => {
    expect(plainBanner("=================================== SUMMARY ====================================")).toBe(
      "schemathesis: SUMMARY",
    );
  });

  it("leaves every other line as it is", () => {
    for (const line of [
      "API Operations:",
      "  3727 generated, 3727 passed, 22 skipped",
      "Seed: 180553492256231353637327957627410701531",
      "",
    ]) {
      expect(plainBanner(line)).toBe(line);
    }
  });

  it("writes whole lines however the output is chunked", () => {
    const written: string[] = [];
    const relay = lineRelay((text) => written.push(text));
    const report = "Test cases:\n  5 passed\n\n==== 1 warning in 1.00s ====";
    for (let i = 0; i < report.length; i += 7) relay.push(Buffer.from(report.slice(i, i + 7)));
    relay.end();
    expect(written.join("")).toBe("Test cases:\n  5 passed\n\nschemathesis: 1 warning in 1.00s");
    expect(written.every((text, i) => i === written.length - 1 || text.endsWith("\n"))).toBe(true);
  });
});

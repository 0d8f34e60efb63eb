/** The parts of `npm run check:fresh` that run on the host without a container. */
import { describe, expect, it } from "vitest";
import { freshDebian12 } from "../../harness/check-fresh/image.js";
import { NEWCOMER_SCRIPT, parseVitestCounts } from "../../harness/check-fresh/newcomer.js";
import { debian12, rootfsKey } from "../../harness/rehearse/rootfs.js";

describe("check:fresh", () => {
  it("reads vitest's test counts, with or without colours and failures", () => {
    expect(parseVitestCounts("\n      Tests  21 failed | 321 passed | 81 skipped (423)\n")).toEqual({
      passed: 321,
      failed: 21,
      skipped: 81,
      total: 423,
    });
    expect(
      parseVitestCounts("\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[32m44 passed\x1b[39m\x1b[22m\x1b[90m (44)\x1b[39m\n"),
    ).toEqual({ passed: 44, failed: 0, skipped: 0, total: 44 });
    expect(parseVitestCounts("no summary")).toBeUndefined();
  });

  it("runs the README's commands as written", () => {
    expect(NEWCOMER_SCRIPT).toContain("npm install && npm start");
    expect(NEWCOMER_SCRIPT).toMatch(/^npm test$/m);
    expect(NEWCOMER_SCRIPT).toContain("/healthz");
  });

  it("uses a plain image cached apart from the rehearsal's", () => {
    expect(freshDebian12.imagePackages).toEqual([]);
    expect(freshDebian12.bootstrapPackages).toEqual([]);
    expect(freshDebian12.name).not.toBe(debian12.suite);
    expect(rootfsKey(freshDebian12)).not.toBe(rootfsKey(debian12));
    // The rehearsal's own key is unchanged by the new optional field.
    expect(JSON.stringify(debian12)).not.toContain('"name"');
  });
});

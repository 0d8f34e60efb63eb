import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANSWER_VALUES, type Answers } from "../../../local-cloud/answers.js";
import { ANSWER_SETS, answerSetsFrom, SAME_RESOURCE } from "../../../harness/cloud/answer-sets.js";

const SWITCHES = Object.keys(ANSWER_VALUES) as (keyof Answers)[];

describe("rehearse:cloud --answer-sets: the combinations it runs cover every answer", () => {
  it("tries every value of every switch", () => {
    for (const key of SWITCHES)
      expect(new Set(ANSWER_SETS.map((s) => s.answers[key])), key).toEqual(new Set(ANSWER_VALUES[key]));
  });

  it("tries all four combinations of every pair of switches about the same resource", () => {
    for (const [a, b] of SAME_RESOURCE) {
      const seen = new Set(ANSWER_SETS.map((s) => `${s.answers[a]}|${s.answers[b]}`));
      for (const x of ANSWER_VALUES[a])
        for (const y of ANSWER_VALUES[b]) expect(seen, `${a}=${x}, ${b}=${y}`).toContain(`${x}|${y}`);
    }
  });

  it("names each set once and runs the defaults first (the recordings CI replays)", () => {
    expect(new Set(ANSWER_SETS.map((s) => s.id)).size).toBe(ANSWER_SETS.length);
    expect(ANSWER_SETS[0]!.id).toBe("defaults");
    expect(answerSetsFrom(undefined, false).map((s) => s.id)).toEqual(["defaults"]);
    expect(answerSetsFrom("iamPolicyCheck=checked", false)[0]!.answers.iamPolicyCheck).toBe("checked");
  });

  it("docs/local-cloud.md lists every switch with its values", () => {
    const doc = readFileSync(join(import.meta.dirname, "../../../docs/local-cloud.md"), "utf8");
    for (const key of SWITCHES) {
      const row = doc.split("\n").find((l) => l.startsWith("|") && l.includes(`\`${key}\``));
      expect(row, key).toBeDefined();
      for (const value of ANSWER_VALUES[key]) expect(row, `${key}=${value}`).toContain(`\`${value}\``);
    }
  });
});

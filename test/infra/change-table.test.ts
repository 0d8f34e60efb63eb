/**
 * docs/deploy.md's table "What a configuration change does" says what each change replaces or
 * destroys. Each row with a case in change-table-cases.ts is checked against the two synthesized
 * stacks and the provider's ForceNew facts (change-effects.ts): every replaced or destroyed
 * server, RDS, subnet, VPC, load balancer, NAT, EIP or bucket is named in the row under
 * "**Replaces**" / "**Destroys**", a row that claims neither replaces nothing, and a row that loses
 * RDS or the bucket names the data-loss guard's `allowReplace`.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { changeEffects } from "./change-effects.js";
import { CHANGES } from "./change-table-cases.js";
import { cleanupSynthDirs, projectRoot, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

function changeTable(): Map<string, [string, string]> {
  const doc = readFileSync(path.join(projectRoot, "docs/deploy.md"), "utf8");
  const section = doc.slice(doc.indexOf("### What a configuration change does"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| You change |")));
  const rows = new Map<string, [string, string]>();
  for (const line of table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"))) {
    const cells = line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.trim());
    rows.set(cells[0]!, [cells[1]!, cells[2]!]);
  }
  return rows;
}

const rows = changeTable();

describe("the change table in docs/deploy.md", () => {
  it("has a row for every checked change", () => {
    for (const key of Object.keys(CHANGES)) expect(rows.has(key), `row ${key}`).toBe(true);
  });

  it.each(Object.entries(CHANGES))("%s", async (key, [before, after]) => {
    const tf = async (env: Record<string, unknown>) =>
      (await synth({ environments: { prod: env } })).stacks["todo-api-prod"]!;
    const effects = changeEffects(await tf(before), await tf(after));
    const [does, effect] = rows.get(key)!;
    const text = `${does} ${effect}`;
    expect(does.includes("**Replaces**"), `${key}: replaces ${effects.replaced.join(", ") || "nothing"}`).toBe(
      effects.replaced.length > 0,
    );
    expect(does.includes("**Destroys**"), `${key}: destroys ${effects.destroyed.join(", ") || "nothing"}`).toBe(
      effects.destroyed.length > 0,
    );
    for (const kind of [...effects.replaced, ...effects.destroyed])
      expect(text, `${key} names ${kind}`).toContain(kind);
    const losesData = [...effects.replaced, ...effects.destroyed].some((k) => k === "RDS" || k === "bucket");
    expect(text.includes("allowReplace"), `${key}: data loss needs allowReplace`).toBe(losesData);
  });
});

import { readFileSync } from "node:fs";
import type { LoggedCall } from "../../local-cloud/call-log.js";

/**
 * What an owner's config change does, as docs/deploy.md's table "Checked by the local cloud"
 * states it and as `npm run rehearse:cloud` observes it: Terraform's plan (every resource,
 * the deploy step included) and the stand-in's log of the apply (which API calls changed something).
 */
export interface ChangeEffect {
  inPlace: string[];
  replaced: string[];
  created: string[];
  destroyed: string[];
  /** Actions of the apply's successful calls that change something (not Describe/List/Get/Head). */
  calls: string[];
}

export const TABLE_HEADING = "### Checked by the local cloud";
const COLUMNS = ["inPlace", "replaced", "created", "destroyed", "calls"] as const;

/** `volcengine_x.name_ABCD1234` → `volcengine_x.name`: the hash suffix cdktf adds says nothing to a reader. */
export const shortAddress = (address: string) => address.replace(/_[0-9A-F]{8}$/, "");

export interface PlannedChange {
  address: string;
  change: { actions: string[]; after?: unknown };
}

/**
 * The plan's resource changes (terraform show -json) sorted into the table's columns. The scenario
 * never applies the deploy step, so it is always "create" in the plan: `baseline` (the same
 * resource in the plan before the change) tells whether it would be replaced (its attributes,
 * i.e. its triggers, differ) or left alone.
 */
export function effectOfPlan(
  planned: PlannedChange[],
  calls: LoggedCall[],
  baseline: PlannedChange[] = [],
): ChangeEffect {
  const changes = planned.flatMap((c) => {
    const before = baseline.find((b) => b.address === c.address && b.change.actions.join() === "create");
    if (!before || c.change.actions.join() !== "create") return [c];
    return JSON.stringify(before.change.after) === JSON.stringify(c.change.after)
      ? []
      : [{ ...c, change: { ...c.change, actions: ["delete", "create"] } }];
  });
  const pick = (actions: string) =>
    changes
      .filter((c) => c.change.actions.join("+") === actions)
      .map((c) => shortAddress(c.address))
      .sort();
  return {
    inPlace: pick("update"),
    replaced: [...pick("delete+create"), ...pick("create+delete")].sort(),
    created: pick("create"),
    destroyed: pick("delete"),
    calls: [
      ...new Set(
        calls.filter((c) => c.status < 300 && !/^(Describe|List|Get|Head)/.test(c.action)).map((c) => c.action),
      ),
    ].sort(),
  };
}

/** The rows of the table in docs/deploy.md, by change id. */
export function readChangeTable(file: string): Map<string, ChangeEffect> {
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(TABLE_HEADING);
  if (start < 0) throw new Error(`${file} has no section "${TABLE_HEADING}"`);
  const rows = new Map<string, ChangeEffect>();
  for (const line of text.slice(start).split("\n").slice(1)) {
    if (/^#/.test(line)) break;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length !== 6 || cells[0] === "Change" || /^-+$/.test(cells[0]!)) continue;
    const list = (cell: string) => (cell === "–" ? [] : [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort());
    rows.set(cells[0]!, Object.fromEntries(COLUMNS.map((k, i) => [k, list(cells[i + 1]!)])) as unknown as ChangeEffect);
  }
  return rows;
}

/** The observed effect as a row of the table (printed when it differs, to review and paste). */
export function tableRow(id: string, e: ChangeEffect): string {
  const cell = (xs: string[]) => (xs.length === 0 ? "–" : xs.map((x) => `\`${x}\``).join(", "));
  return `| ${id} | ${COLUMNS.map((k) => cell(e[k])).join(" | ")} |`;
}

/** Differences between the documented and the observed effect, one line per column that differs. */
export function compareEffect(expected: ChangeEffect | undefined, observed: ChangeEffect): string[] {
  if (!expected) return ["no row in the table"];
  return COLUMNS.filter((k) => expected[k].join() !== observed[k].join()).map(
    (k) => `${k}: documented ${expected[k].join(", ") || "none"}; observed ${observed[k].join(", ") || "none"}`,
  );
}

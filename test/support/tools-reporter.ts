import type { Reporter, TestModule } from "vitest/node";
import { installCommand, strictTools, TOOLS, type ToolInfo, type ToolName } from "./tools.js";

/**
 * Ends the run with ONE line about missing system tools (declared with requireTool() in
 * test/support/tools.ts): each tool, how many tests it skipped, and the command that installs it.
 * A test file that lacks several tools counts its skipped tests once, under all of them together
 * ("nginx + openssl"), since either would have stopped them.
 */
export type SkippedByTools = Map<string, { tools: ToolName[]; skipped: number }>;

export function missingToolsSummary(byTools: SkippedByTools, strict = strictTools()): string | undefined {
  const entries = [...byTools.values()].filter((e) => e.skipped > 0);
  if (entries.length === 0) return undefined;
  const parts = entries.map(({ tools, skipped }) => {
    const infos: ToolInfo[] = tools.map((t) => TOOLS[t]);
    const notes = infos.filter((i) => i.obtainable === false && i.why).map((i) => `; ${i.why}`);
    return `${infos.map((i) => i.label).join(" + ")} (${skipped} test${skipped === 1 ? "" : "s"} skipped; install: ${installCommand(tools)}${notes.join("")})`;
  });
  const mode = strict ? "strict mode is on" : "set CI=true or STRICT_TOOLS=1 to make them failures";
  return `Missing tools — ${parts.join(" · ")} [${mode}]`;
}

export function countSkippedByTools(modules: readonly TestModule[]): SkippedByTools {
  const byTools: SkippedByTools = new Map();
  for (const module of modules) {
    const tools = [...(module.meta().missingTools ?? [])].sort();
    if (tools.length === 0) continue;
    const key = tools.join("+");
    const skipped = [...module.children.allTests("skipped")].length;
    const entry = byTools.get(key) ?? { tools, skipped: 0 };
    entry.skipped += skipped;
    byTools.set(key, entry);
  }
  return byTools;
}

export default class MissingToolsReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const line = missingToolsSummary(countSkippedByTools(modules));
    if (line) process.stdout.write(`\n${line}\n`);
  }
}

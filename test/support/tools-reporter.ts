import type { Reporter, TestModule } from "vitest/node";
import { strictTools, TOOLS, type ToolInfo, type ToolName } from "./tools.js";

/**
 * Ends the run with ONE line about missing system tools (declared with requireTool() in
 * test/support/tools.ts): each tool, how many tests it skipped, and the command that installs it.
 * A test file that lacks two tools counts its skipped tests under both.
 */
export function missingToolsSummary(
  skippedByTool: Map<ToolName, number>,
  strict = strictTools(),
): string | undefined {
  if (skippedByTool.size === 0) return undefined;
  const parts = [...skippedByTool].map(([name, skipped]) => {
    const info: ToolInfo = TOOLS[name];
    const note = info.obtainable === false && info.why ? `; ${info.why}` : "";
    return `${info.label} (${skipped} test${skipped === 1 ? "" : "s"} skipped; install: ${info.install}${note})`;
  });
  const mode = strict ? "strict mode is on" : "set CI=true or STRICT_TOOLS=1 to make them failures";
  return `Missing tools — ${parts.join(" · ")} [${mode}]`;
}

export function countSkippedByTool(modules: readonly TestModule[]): Map<ToolName, number> {
  const byTool = new Map<ToolName, number>();
  for (const module of modules) {
    const missing = module.meta().missingTools ?? [];
    if (missing.length === 0) continue;
    const skipped = [...module.children.allTests("skipped")].length;
    for (const name of missing) byTool.set(name, (byTool.get(name) ?? 0) + skipped);
  }
  return byTool;
}

export default class MissingToolsReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    const line = missingToolsSummary(countSkippedByTool(modules));
    if (line) process.stdout.write(`\n${line}\n`);
  }
}

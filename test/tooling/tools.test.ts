/**
 * requireTool() and the missing-tools summary (test/support/tools.ts, tools-reporter.ts): a suite
 * whose tool is missing is skipped and counted in ONE line with the install command; with
 * CI=true or STRICT_TOOLS=1 it fails instead — except the Volcengine provider, only reported.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { missingToolsSummary } from "../support/tools-reporter.js";
import { findVolcengineProvider, requireTool, strictTools } from "../support/tools.js";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "todo-tools-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const empty = path.join(dir, "empty");
mkdirSync(empty);
/** A machine with nothing installed: no command on PATH, no Terraform plugins in HOME. */
const bare = { PATH: empty, HOME: empty };

function nestedRun(env: NodeJS.ProcessEnv) {
  // The caller's own tool settings (strict mode, a provider mirror) are not the nested run's.
  const { CI: _ci, STRICT_TOOLS: _strict, VOLCENGINE_PROVIDER_MIRROR: _mirror, ...inherited } = process.env;
  const r = spawnSync(
    process.execPath,
    [
      path.join(projectRoot, "node_modules/vitest/vitest.mjs"),
      "run",
      "--config",
      "test/tooling/fixtures/vitest.config.ts",
    ],
    { cwd: projectRoot, encoding: "utf8", timeout: 120_000, env: { ...inherited, ...bare, NO_COLOR: "1", ...env } },
  );
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe("strict mode", () => {
  it("is on with CI=true (any non-empty CI but false/0) or STRICT_TOOLS=1", () => {
    expect(strictTools({ CI: "true" })).toBe(true);
    expect(strictTools({ CI: "1" })).toBe(true);
    expect(strictTools({ STRICT_TOOLS: "1" })).toBe(true);
    expect(strictTools({})).toBe(false);
    expect(strictTools({ CI: "false" })).toBe(false);
    expect(strictTools({ CI: "" })).toBe(false);
  });

  it("makes a missing tool an error that says how to install it", () => {
    expect(() => requireTool("nginx", { ...bare, CI: "true" })).toThrow("sudo apt-get install -y nginx-light");
    expect(requireTool("nginx", { ...bare }).missing).toBe(true);
  });

  it("only reports the Volcengine provider, which no machine of the project can get", () => {
    const tool = requireTool("terraform-provider-volcengine", { ...bare, STRICT_TOOLS: "1" });
    expect(tool.missing).toBe(true);
  });
});

describe("finding tools", () => {
  it("finds a command on PATH", () => {
    const bin = path.join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(path.join(bin, "shellcheck"), "#!/bin/sh\n");
    chmodSync(path.join(bin, "shellcheck"), 0o755);
    expect(requireTool("shellcheck", { PATH: bin, HOME: empty }).path).toBe(path.join(bin, "shellcheck"));
  });

  it("finds the Volcengine provider where terraform init or a plugin mirror puts it", () => {
    const platformDir = path.join(dir, "plugins/registry.terraform.io/volcengine/volcengine/0.0.196/linux_amd64");
    mkdirSync(platformDir, { recursive: true });
    writeFileSync(path.join(platformDir, "terraform-provider-volcengine_v0.0.196"), "");
    expect(findVolcengineProvider({ ...bare, TF_PLUGIN_CACHE_DIR: path.join(dir, "plugins") })).toBe(
      path.join(platformDir, "terraform-provider-volcengine_v0.0.196"),
    );
    expect(findVolcengineProvider(bare)).toBeUndefined();
  });
});

describe("the summary line", () => {
  it("names each tool, the tests it skipped and its install command", () => {
    const line = missingToolsSummary(
      new Map([
        ["nginx+openssl", { tools: ["nginx", "openssl"], skipped: 12 }],
        ["terraform-provider-volcengine", { tools: ["terraform-provider-volcengine"], skipped: 1 }],
        ["shellcheck", { tools: ["shellcheck"], skipped: 0 }],
      ]),
      false,
    )!;
    expect(line).toContain("nginx + openssl (12 tests skipped; install: sudo apt-get install -y nginx-light openssl)");
    expect(line).not.toContain("shellcheck");
    expect(line).toMatch(
      /terraform-provider-volcengine \(1 test skipped; .*strict mode reports it and does not fail\)/,
    );
    expect(line).toContain("STRICT_TOOLS=1");
    expect(line.split("\n")).toHaveLength(1);
    expect(missingToolsSummary(new Map(), false)).toBeUndefined();
  });

  it("ends a real run without the tools: skipped, counted per tool, passed", () => {
    const r = nestedRun({});
    expect(r.status, r.output).toBe(0);
    const lines = r.output.split("\n").filter((l) => l.startsWith("Missing tools"));
    expect(lines, r.output).toHaveLength(1);
    expect(lines[0]).toContain("shellcheck (2 tests skipped; install: sudo apt-get install -y shellcheck)");
    expect(lines[0]).toContain("terraform-provider-volcengine (1 test skipped;");
    expect(r.output).toMatch(/Tests\s+1 passed \| 3 skipped/);
  });

  it("fails the run in strict mode (CI=true) for the obtainable tool only", () => {
    const r = nestedRun({ CI: "true" });
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toContain(
      "shellcheck is not installed, and CI=true/STRICT_TOOLS=1 makes a missing tool a failure",
    );
    expect(r.output).not.toContain("terraform-provider-volcengine is not installed");
  });
});

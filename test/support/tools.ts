import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { TestRunner } from "vitest";
import { findPostgresBin } from "../../harness/support/pg-cluster.js";

/**
 * System tools some suites drive for real (cloud-init, ShellCheck, Nginx, systemd-analyze,
 * Terraform, …). A suite declares each one in a line at its top:
 *
 *   const nginx = requireTool("nginx");
 *   describe.skipIf(nginx.missing)("…", () => { … });
 *
 * On a machine without the tool its tests are skipped, and test/support/tools-reporter.ts ends the
 * run with one line naming each missing tool, how many tests it skipped and how to install it.
 * With CI=true or STRICT_TOOLS=1 a missing tool fails the suite instead (so CI keeps every suite
 * mandatory) — except tools marked `obtainable: false`, which are only reported.
 */
export interface ToolInfo {
  /** What the summary line calls it. */
  label: string;
  /** Its Debian/Ubuntu package, when it has one (the summary merges them into one apt-get line). */
  apt?: string;
  /** How to install it otherwise, as a user would do it. */
  install?: string;
  /** Where it is found (a command on PATH unless `find` says otherwise). */
  find?: (env: NodeJS.ProcessEnv) => string | undefined;
  /**
   * False for a tool no machine of this project can get: strict mode reports it and does not
   * fail. Say why in `why`.
   */
  obtainable?: boolean;
  why?: string;
}

export const TOOLS = {
  "cloud-init": { label: "cloud-init", apt: "cloud-init" },
  shellcheck: { label: "shellcheck", apt: "shellcheck" },
  nginx: { label: "nginx", apt: "nginx-light" },
  "systemd-analyze": { label: "systemd-analyze", apt: "systemd" },
  openssl: { label: "openssl", apt: "openssl" },
  curl: { label: "curl", apt: "curl" },
  java: {
    label: "java (JDK 17+)",
    apt: "openjdk-17-jdk-headless",
    find: (env) => commandPath("javac", env) && commandPath("java", env),
  },
  mvn: { label: "mvn", apt: "maven" },
  nft: { label: "nft", apt: "nftables" },
  /** Debian's Chromium, driven by playwright-core (the admin console's browser test). */
  chromium: { label: "chromium", apt: "chromium" },
  "apt-config": { label: "apt-config", apt: "apt" },
  /** The cluster rehearsal's load balancer (the CLB's stand-in). */
  haproxy: { label: "haproxy", apt: "haproxy" },
  pg_dump: {
    label: "pg_dump/pg_restore",
    apt: "postgresql-client",
    // The backup suites put the local PostgreSQL binaries first on PATH, as pg-cluster.ts finds them.
    find: (env) => {
      const bin = findPostgresBin(env.PATH ?? "");
      return bin && existsSync(join(bin, "pg_dump")) && existsSync(join(bin, "pg_restore"))
        ? join(bin, "pg_dump")
        : commandPath("pg_dump", env);
    },
  },
  terraform: {
    label: "terraform",
    install:
      "sudo apt-get install -y terraform (HashiCorp's apt repository), or OpenTofu with TERRAFORM_BINARY_NAME=tofu (.ci/run builds it from the Go module proxy)",
    find: (env) => commandPath(terraformCommand(env), env),
  },
  "terraform-provider-volcengine": {
    label: "terraform-provider-volcengine",
    install: "terraform init with registry access (or a plugin mirror in ~/.terraform.d/plugins)",
    find: findVolcengineProvider,
    obtainable: false,
    why: "cannot be obtained on this project's machines (no Terraform registry; the Go module proxy answers 403 for github.com/volcengine/terraform-provider-volcengine), so strict mode reports it and does not fail",
  },
} satisfies Record<string, ToolInfo>;

export type ToolName = keyof typeof TOOLS;

/** The command that installs these tools, e.g. "sudo apt-get install -y nginx-light openssl". */
export function installCommand(names: readonly ToolName[]): string {
  const infos: ToolInfo[] = names.map((n) => TOOLS[n]);
  const apt = infos.map((i) => i.apt).filter((p): p is string => Boolean(p));
  const other = infos.map((i) => (i.apt ? undefined : i.install)).filter((c): c is string => Boolean(c));
  return [...(apt.length > 0 ? [`sudo apt-get install -y ${apt.join(" ")}`] : []), ...other].join("; ");
}

export interface Tool {
  name: ToolName;
  /** Where it was found (a path), when found. */
  path: string | undefined;
  available: boolean;
  missing: boolean;
}

declare module "vitest" {
  interface TaskMeta {
    /** Tools this test file declared and did not find (read by tools-reporter.ts). */
    missingTools?: ToolName[];
  }
}

/**
 * The Terraform CLI the tests run: TERRAFORM_BINARY_NAME (the variable cdktf itself reads, e.g.
 * an OpenTofu `tofu`) or `terraform`.
 */
export function terraformCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.TERRAFORM_BINARY_NAME || "terraform";
}

export function strictTools(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STRICT_TOOLS === "1" || (env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0");
}

export function commandPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = spawnSync("/bin/sh", ["-c", 'command -v "$1"', "sh", command], { encoding: "utf8", env });
  const path = r.status === 0 ? r.stdout.trim() : "";
  return path || undefined;
}

/**
 * Finds a tool; records it as missing in the current test file (for the summary) or, in strict
 * mode, throws so the file fails with the install command.
 */
export function requireTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): Tool {
  const info: ToolInfo = TOOLS[name];
  const path = info.find ? info.find(env) : commandPath(name, env);
  const tool: Tool = { name, path, available: path !== undefined, missing: path === undefined };
  if (tool.available) return tool;
  if (strictTools(env) && info.obtainable !== false) {
    throw new Error(
      `${info.label} is not installed, and CI=true/STRICT_TOOLS=1 makes a missing tool a failure. Install it: ${installCommand([name])}`,
    );
  }
  // Recorded for the summary when a test file declares what it needs (not for probes with their own env).
  const file = env === process.env && !TestRunner.getCurrentTest() ? TestRunner.getCurrentSuite()?.file : undefined;
  if (file) file.meta.missingTools = [...new Set([...(file.meta.missingTools ?? []), name])];
  return tool;
}

/**
 * The Volcengine provider binary, where a filesystem mirror or `terraform init` puts it:
 * VOLCENGINE_PROVIDER_MIRROR (the mirror test/infra/terraform-validate.test.ts uses),
 * TF_PLUGIN_CACHE_DIR and the implied local mirror directories, then PATH.
 */
export function findVolcengineProvider(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const roots = [
    env.VOLCENGINE_PROVIDER_MIRROR,
    env.TF_PLUGIN_CACHE_DIR,
    join(env.HOME ?? homedir(), ".terraform.d/plugins"),
    join(env.HOME ?? homedir(), ".local/share/terraform/plugins"),
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
  ].filter((r): r is string => Boolean(r));
  for (const root of roots) {
    const providerDir = join(root, "registry.terraform.io/volcengine/volcengine");
    if (!existsSync(providerDir)) continue;
    for (const version of readdirSync(providerDir)) {
      const platformDir = join(providerDir, version, "linux_amd64");
      if (!existsSync(platformDir)) continue;
      const binary = readdirSync(platformDir).find((f) => f.startsWith("terraform-provider-volcengine"));
      if (binary) return join(platformDir, binary);
    }
  }
  return commandPath("terraform-provider-volcengine", env);
}

/** Several tools for one suite: `missing` if any of them is. */
export function requireTools(...names: ToolName[]): { tools: Tool[]; available: boolean; missing: boolean } {
  const tools = names.map((name) => requireTool(name));
  const missing = tools.some((t) => t.missing);
  return { tools, available: !missing, missing };
}

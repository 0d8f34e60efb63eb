import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The dependency direction of the project's parts (docs/architecture.md, "What each part may
 * import"): contract/ at the bottom; app/ and local-cloud/ stand alone; infra/, cloud-init/ and
 * release/ share contract/. Shipped code (app/, contract/, cloud-init/, infra/, release/,
 * local-cloud/) never imports the tools (scripts/), the harnesses (harness/) or the tests (test/);
 * the tools import no harness and no test; the harnesses import the tools but no test. test/ may
 * import anything. Every static import, re-export and dynamic import() with a relative specifier
 * is checked.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SHIPPED = ["app", "contract", "infra", "cloud-init", "release", "local-cloud"] as const;
const PARTS = [...SHIPPED, "scripts", "harness"] as const;
type Part = (typeof PARTS)[number];
/** Top-level folders with code that no rule covers: the suites themselves and generated or built output. */
const UNCHECKED = ["test", "node_modules", ".gen", "dist", "cdktf.out"];

/** Which top-level folders each part may import from (besides itself and packages). */
const ALLOWED: Record<Part, readonly string[]> = {
  app: [],
  contract: [],
  infra: ["contract", "cloud-init", "release", ".gen"],
  "cloud-init": ["contract"],
  release: ["contract", "cloud-init"],
  // The local Volcengine emulator: Node's standard library only; the scenario's entry point
  // (harness/cloud/main.ts) passes it the container booter.
  "local-cloud": [],
  scripts: ["contract", "cloud-init", "infra", "release", "app", "local-cloud"],
  harness: ["contract", "cloud-init", "infra", "release", "app", "local-cloud", "scripts"],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|mjs|js)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Relative specifiers of `import … from`, `export … from`, bare `import "…"` and `import("…")`. */
function relativeImports(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\bfrom\s+["'](\.[^"']*)["']/g,
    /\bimport\s+["'](\.[^"']*)["']/g,
    /\bimport\(\s*["'](\.[^"']*)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.add(m[1]!);
  return [...found];
}

function topFolder(file: string): string {
  return relative(root, file).split(sep)[0]!;
}

function violations(): string[] {
  const problems: string[] = [];
  for (const part of PARTS) {
    for (const file of sourceFiles(join(root, part))) {
      for (const spec of relativeImports(readFileSync(file, "utf8"))) {
        const target = topFolder(resolve(dirname(file), spec));
        if (target === part || ALLOWED[part].includes(target)) continue;
        problems.push(`${relative(root, file)} imports ${spec} (${part}/ must not import ${target}/)`);
      }
    }
  }
  return problems;
}

/** Top-level folders holding TypeScript or JavaScript (what the rules must cover). */
function codeFolders(): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !UNCHECKED.includes(e.name) && !e.name.startsWith("."))
    .map((e) => e.name)
    .filter((name) => sourceFiles(join(root, name)).length > 0);
}

describe("dependency direction", () => {
  it("the scanner sees every form of import", () => {
    const text = [
      'import { a } from "../contract/server.js";',
      'export * from "./x.js";',
      'import "../side-effect.js";',
      'const m = await import("../scripts/release");',
      'import { z } from "zod";',
    ].join("\n");
    expect(relativeImports(text).sort()).toEqual([
      "../contract/server.js",
      "../scripts/release",
      "../side-effect.js",
      "./x.js",
    ]);
  });

  it("no part imports what it must not (shipped code no tool, harness or test; tools no harness or test)", () => {
    expect(violations()).toEqual([]);
  });

  it("every top-level folder with code has a rule", () => {
    expect(codeFolders().filter((f) => !(PARTS as readonly string[]).includes(f))).toEqual([]);
  });

  it("the rules keep shipped code off the tools, the harnesses and the tests", () => {
    for (const part of SHIPPED) {
      for (const forbidden of ["scripts", "harness", "test"]) expect(ALLOWED[part], part).not.toContain(forbidden);
    }
    expect(ALLOWED.scripts).not.toContain("harness");
    expect(ALLOWED.scripts).not.toContain("test");
    expect(ALLOWED.harness).not.toContain("test");
  });

  it("infra/ builds the release through release/, not scripts/", () => {
    const main = readFileSync(join(root, "infra/main.ts"), "utf8");
    expect(relativeImports(main)).toContain("../release/build-release.js");
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The dependency direction of the project's parts (docs/architecture rules in the developers'
 * guide): app/ stands alone; contract/ imports none of the other parts; infra/, cloud-init/ and
 * release/ share contract/ and never import scripts/ (a leaf of command-line entry points) or test/.
 * Every static import, re-export and dynamic import() with a relative specifier is checked.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PARTS = ["app", "contract", "infra", "cloud-init", "release", "scripts", "harness", "local-cloud"] as const;
type Part = (typeof PARTS)[number];

/** Which top-level folders each part may import from (besides itself and packages). */
const ALLOWED: Record<Part, readonly string[]> = {
  app: [],
  contract: [],
  infra: ["contract", "cloud-init", "release", ".gen"],
  "cloud-init": ["contract"],
  release: ["contract", "cloud-init"],
  scripts: ["contract", "cloud-init", "infra", "release", "app", "test", "local-cloud"],
  // Proofs that are not vitest suites: they drive the emulator and the rehearsal's machinery.
  // harness/cloud boots containers with the rehearsal's machinery, still under scripts/rehearse.
  harness: ["contract", "cloud-init", "infra", "release", "app", "scripts", "local-cloud"],
  // The local Volcengine emulator: Node's standard library only; the scenario's entry point
  // (harness/cloud/main.ts) passes it the container booter.
  "local-cloud": [],
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

  it("no part imports what it must not (nothing but scripts/ imports scripts/; contract/ and app/ stand alone)", () => {
    expect(violations()).toEqual([]);
  });

  it("infra/ builds the release through release/, not scripts/", () => {
    const main = readFileSync(join(root, "infra/main.ts"), "utf8");
    expect(relativeImports(main)).toContain("../release/build-release.js");
  });
});

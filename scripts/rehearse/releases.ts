import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "./shell.js";

/**
 * The releases the rehearsal delivers: the real build (`buildRelease()`, what the infra ships),
 * and variants of it repacked here: the same code under another release hash (a "second
 * deploy"), and one whose server exits at once (a deploy that must roll itself back).
 * REHEARSAL_RELEASE=<tarball> delivers a given release instead of building one.
 */
export interface Release {
  path: string;
  hash: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

export async function baseRelease(): Promise<Release> {
  const given = process.env.REHEARSAL_RELEASE;
  if (given) {
    const hash = /todo-api-([0-9a-f]{12})\.tar\.gz$/.exec(basename(given))?.[1];
    if (!hash) throw new Error(`REHEARSAL_RELEASE must name a todo-api-<hash>.tar.gz: ${given}`);
    return { path: given, hash };
  }
  const module = join(repoRoot, "scripts/release.ts");
  if (!existsSync(module)) throw new Error("scripts/release.ts does not exist yet (or set REHEARSAL_RELEASE)");
  // Imported by path so this script type-checks before the release builder lands.
  const { buildRelease } = (await import(module)) as { buildRelease: () => Promise<Release> };
  return buildRelease();
}

export type Variant = "same-code" | "exits-at-start";

/** Repacks `base` with a new RELEASE hash (derived from the base hash and the variant name). */
export async function variantRelease(base: Release, outDir: string, variant: Variant): Promise<Release> {
  const hash = createHash("sha256").update(`${base.hash}:${variant}`).digest("hex").slice(0, 12);
  await mkdir(outDir, { recursive: true });
  const tree = await mkdtemp(join(outDir, "variant-"));
  try {
    await run("tar", ["-xzf", base.path, "-C", tree]);
    const found = (await readFile(join(tree, "RELEASE"), "utf8")).trim();
    if (found !== base.hash) throw new Error(`${base.path}: RELEASE is ${found}, expected ${base.hash}`);
    await writeFile(join(tree, "RELEASE"), `${hash}\n`);
    if (variant === "exits-at-start") {
      // Migrations still work (the deploy gets as far as switching); the server never listens.
      await writeFile(
        join(tree, "server.mjs"),
        'console.error("rehearsal: this release fails its health check on purpose");\nprocess.exit(1);\n',
      );
    }
    const path = join(outDir, `todo-api-${hash}.tar.gz`);
    await run("tar", ["-czf", path, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", tree, "."]);
    return { path, hash };
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
}

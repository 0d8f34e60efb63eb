import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { buildRelease, type Release } from "../release.js";
import { run } from "./shell.js";

export type { Release };

/**
 * The releases the rehearsal delivers, all made by the project's release builder:
 * - the real build (`buildRelease()`, exactly what the infra ships);
 * - a second release: the same bundle with a marker comment, hence new content and a new hash
 *   (a routine "next deploy");
 * - a broken release whose server exits at start (its migrations are the real ones, so the deploy
 *   gets as far as the health-gated restart and must roll itself back).
 * REHEARSAL_RELEASE=<tarball> delivers a given release instead of building one.
 */
export async function baseRelease(log: (message: string) => void): Promise<Release> {
  const given = process.env.REHEARSAL_RELEASE;
  if (given) {
    const hash = /todo-api-([0-9a-f]{12})\.tar\.gz$/.exec(basename(given))?.[1];
    if (!hash) throw new Error(`REHEARSAL_RELEASE must name a todo-api-<hash>.tar.gz: ${given}`);
    return { path: given, hash };
  }
  return buildRelease({ log });
}

export type Variant = "second" | "exits-at-start";

export async function variantRelease(
  base: Release,
  outDir: string,
  variant: Variant,
  log: (message: string) => void
): Promise<Release> {
  await mkdir(outDir, { recursive: true });
  const bundle = await mkdtemp(join(outDir, `bundle-${variant}-`));
  try {
    await run("tar", ["-xzf", base.path, "-C", bundle, "server.mjs", "migrate.mjs"]);
    if (variant === "second") {
      await appendFile(join(bundle, "server.mjs"), `\n// rehearsal: second release of ${base.hash}\n`);
    } else {
      await writeFile(
        join(bundle, "server.mjs"),
        'console.error("rehearsal: this release fails its health check on purpose");\nprocess.exit(1);\n'
      );
    }
    const release = await buildRelease({ bundleDir: bundle, outDir, log });
    if (release.hash === base.hash) throw new Error(`the ${variant} release has the same hash as the base release`);
    return release;
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

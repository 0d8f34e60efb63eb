import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildRelease } from "../release/build-release.js";

/**
 * `npm run release [-- --force]`: builds dist/release/todo-api-<hash>.tar.gz (release/build-release.ts)
 * and prints its path. Re-exports the builder for the other command-line scripts and the tests.
 */
export {
  buildRelease,
  contentHash,
  RELEASE_APP_NAME,
  type Release,
  type ReleaseOptions,
} from "../release/build-release.js";

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const force = process.argv.includes("--force");
  buildRelease({ force }).then(
    (release) => process.stdout.write(`${release.path}\n`),
    (err: unknown) => {
      process.stderr.write(`release failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildServer } from "../release/bundle.js";

/** `npm run build`: dist/server.mjs and dist/migrate.mjs (release/bundle.ts). */
export { buildServer, EXTERNAL_PACKAGES, type BuildResult } from "../release/bundle.js";

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = Date.now();
  buildServer().then(
    (out) => process.stdout.write(`built ${out.server} and ${out.migrate} in ${Date.now() - started} ms\n`),
    (err) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

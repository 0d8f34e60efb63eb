import { buildRelease } from "../release/build-release.js";
import { runMain } from "./lib/main.js";

/**
 * `npm run release [-- --force]`: builds dist/release/todo-api-<hash>.tar.gz and prints its path
 * (the builder is release/build-release.ts).
 */
async function main(argv: string[]): Promise<number> {
  const release = await buildRelease({ force: argv.includes("--force") });
  process.stdout.write(`${release.path}\n`);
  return 0;
}

runMain(import.meta.url, "release", main);

import { buildServer } from "../release/bundle.js";
import { runMain } from "./lib/main.js";

/** `npm run build`: dist/server.mjs and dist/migrate.mjs (the bundler is release/bundle.ts). */
async function main(): Promise<number> {
  const started = Date.now();
  const out = await buildServer();
  process.stdout.write(`built ${out.server} and ${out.migrate} in ${Date.now() - started} ms\n`);
  return 0;
}

runMain(import.meta.url, "build", main);

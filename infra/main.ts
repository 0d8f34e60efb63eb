/**
 * The cdktf app (cdktf.json "app"): `npx cdktf synth|deploy|destroy` run this.
 *
 * Order matters and is why the imports below are dynamic: the typed provider bindings in .gen
 * are (re)generated first if missing or stale, then the stack configuration is validated, then
 * the release is built from app/ (so synth works on a fresh clone), then the stacks are
 * synthesized.
 */
import { generateBindings } from "./bindings/generate.js";

async function main(): Promise<void> {
  await generateBindings();

  const { loadStackConfig } = await import("./config/load.js");
  const config = loadStackConfig();
  if (config.isExample) {
    // stdout: cdktf shows everything the app writes to stderr as an [ERROR].
    console.log(
      `note: no stack.config.json found; using ${config.source}. Copy it to stack.config.json and ` +
        "set your own admin CIDR and SSH key before `cdktf deploy` (see docs/deploy.md).",
    );
  }

  const { buildRelease } = await import("../release/build-release.js");
  const release = await buildRelease({ log: (message) => console.log(`release: ${message}`) });

  const { buildApp } = await import("./app.js");
  buildApp({ config, release }).app.synth();
}

main().catch((err: unknown) => {
  // Configuration and size errors are for the user: print the message, not a stack trace.
  const known = err instanceof Error && ["StackConfigError", "UserDataTooLargeError"].includes(err.name);
  console.error(known ? (err as Error).message : err);
  process.exit(1);
});

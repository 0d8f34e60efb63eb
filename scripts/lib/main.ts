import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * How every command starts, the tools in scripts/ and the harnesses in harness/ alike: the file
 * defines `main(argv)`, which returns the exit status (2 for a usage error, after printing the
 * usage), and ends with `runMain(import.meta.url, "<name>", main)`.
 *
 * `main` runs only when the file is the process's entry point (`tsx scripts/x.ts`), so tests can
 * import the file's functions without starting it. The process exits with main's status once it
 * resolves (a command never lingers on a handle it left open); a thrown error becomes one line,
 * "<name> failed: <message>", and status 1.
 */
export type Main = (argv: string[]) => Promise<number> | number;

export function isEntryPoint(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  return Boolean(argv1) && moduleUrl === pathToFileURL(resolve(argv1!)).href;
}

export function runMain(moduleUrl: string, name: string, main: Main): void {
  if (!isEntryPoint(moduleUrl)) return;
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (status) => process.exit(status),
      (err: unknown) => {
        process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
}

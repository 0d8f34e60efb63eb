import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { runMain } from "./lib/main.js";
import { z } from "zod";
import { buildRelease } from "../release/build-release.js";
import {
  installKitCommands,
  RELEASE_COMMAND,
  remoteTarballPath,
  releaseHashOf,
  switchReleaseCommands,
  type Release,
} from "../contract/index.js";
import { runSmoke } from "./smoke.js";

/**
 * `npm run deploy -- --host <ip>`: ships a release to a server over SSH, converges the host to the
 * release's server kit, and installs the release with the server's release command (which
 * migrates, switches, restarts one instance at a time and rolls back by itself on failed health
 * checks). The same steps as the infra stack's deploy step (contract/deploy-steps.ts):
 *
 *   1. builds the release (or takes --tarball),
 *   2. waits until SSH answers (a fresh server is still booting),
 *   3. copies the tarball to /tmp/todo-api-<hash>.tar.gz and runs its server kit
 *      (`server/install`: packages, pinned Node.js, server scripts, units, sites, todo-setup),
 *      using the host settings already on the server (/etc/todo-host.conf; `cdktf deploy` writes them),
 *   4. writes each --env KEY into /etc/todo-api/env — the value comes from this process's
 *      environment and travels on SSH's stdin, never on a command line,
 *   5. runs `todo-release deploy` (and, when the release was already current, a rolling restart),
 *   6. optionally runs the smoke test against --smoke <url>.
 */
export const deployOptionsSchema = z.object({
  host: z.string().min(1, "host is required (the server's public IP or name)"),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/, "user must be a Unix user name")
    .default("root"),
  port: z.coerce.number().int().min(1).max(65535).default(22),
  identityFile: z.string().optional(),
  tarball: z.string().optional(),
  /** Names of variables to copy from this process's environment into the server's env file. */
  env: z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "env names are UPPER_CASE")).default([]),
  smokeUrl: z.string().url().optional(),
  /** How long to wait for SSH to answer, in seconds. */
  waitSeconds: z.coerce.number().int().min(0).default(600),
});
export type DeployOptions = z.input<typeof deployOptionsSchema>;

export { RELEASE_COMMAND, remoteTarballPath };

const log = (message: string) => process.stderr.write(`deploy: ${message}\n`);

/** Quotes a word for the remote POSIX shell that sshd hands the command to. */
export const shellQuote = (word: string) =>
  /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

function exec(command: string, args: string[], stdin?: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: [stdin === undefined ? "ignore" : "pipe", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

export async function deployRelease(input: DeployOptions): Promise<Release> {
  const parsed = deployOptionsSchema.safeParse(input);
  if (!parsed.success) throw new Error(`invalid deploy options:\n${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const missing = o.env.filter((key) => !process.env[key]);
  if (missing.length) throw new Error(`--env ${missing.join(", ")}: not set in this environment`);

  const ssh = process.env.TODO_SSH ?? "ssh";
  const scp = process.env.TODO_SCP ?? "scp";
  const common = [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=15",
    ...(o.identityFile ? ["-i", o.identityFile] : []),
  ];
  const target = `${o.user}@${o.host}`;
  const sudo = o.user === "root" ? [] : ["sudo", "-n"];
  const remote = (words: string[], stdin?: string) =>
    exec(ssh, [...common, "-p", String(o.port), target, [...sudo, ...words].map(shellQuote).join(" ")], stdin);

  const release = o.tarball ? releaseFromTarball(o.tarball) : await buildRelease();
  log(`release ${release.hash} → ${target}`);

  const deadline = Date.now() + o.waitSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    if ((await remote(["true"])) === 0) break;
    if (Date.now() > deadline) throw new Error(`SSH to ${target}:${o.port} did not answer within ${o.waitSeconds}s`);
    log(`waiting for SSH on ${target} (attempt ${attempt})`);
    await new Promise((r) => setTimeout(r, 5000));
  }

  const remotePath = remoteTarballPath(release.hash);
  const copy = await exec(scp, [...common, "-q", "-P", String(o.port), release.path, `${target}:${remotePath}`]);
  if (copy !== 0) throw new Error(`copying ${release.path} to ${target}:${remotePath} failed`);
  const script = (lines: string[]) => ["sh", "-c", ["set -eu", ...lines].join("; ")];
  try {
    // The server-side steps remove the tarball when they fail and when the last one is done.
    const converged = await remote(script(installKitCommands(remotePath, release.hash, "")));
    if (converged !== 0)
      throw new Error(
        `the release's server kit (server/install) failed on ${target} (exit ${converged}); see its output above`,
      );

    for (const key of o.env) {
      if ((await remote([RELEASE_COMMAND, "set-env", key], process.env[key])) !== 0) {
        throw new Error(`setting ${key} on the server failed`);
      }
    }

    const status = await remote(script(switchReleaseCommands(remotePath, "")));
    if (status !== 0) throw new Error(`todo-release deploy failed on ${target} (exit ${status}); see its output above`);
  } catch (error) {
    // Between the steps (a failed set-env) nothing on the server removes it: do it from here.
    await remote(["rm", "-f", "--", remotePath]).catch(() => undefined);
    throw error;
  }
  log(`release ${release.hash} is live on ${o.host}`);

  if (o.smokeUrl) {
    const result = await runSmoke(o.smokeUrl);
    if (!result.ok) throw new Error(`the smoke test against ${o.smokeUrl} failed`);
  }
  return release;
}

function releaseFromTarball(path: string): Release {
  const hash = releaseHashOf(path);
  if (!hash) throw new Error(`${path} is not named todo-api-<hash>.tar.gz (build it with npm run release)`);
  return { path: resolve(path), hash };
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: "string" },
        user: { type: "string" },
        port: { type: "string" },
        identity: { type: "string", short: "i" },
        tarball: { type: "string" },
        env: { type: "string", multiple: true },
        smoke: { type: "string" },
        wait: { type: "string" },
      },
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(
      "usage: npm run deploy -- --host <ip> [--user root] [--port 22] [-i key] [--tarball file] [--env KEY]... [--smoke url]\n",
    );
    return 2;
  }
  await deployRelease({
    host: values.host as string,
    user: values.user as string | undefined,
    port: values.port as string | undefined,
    identityFile: values.identity as string | undefined,
    tarball: values.tarball as string | undefined,
    env: values.env as string[] | undefined,
    smokeUrl: values.smoke as string | undefined,
    waitSeconds: values.wait as string | undefined,
  } as DeployOptions);
  return 0;
}

runMain(import.meta.url, "deploy", main);

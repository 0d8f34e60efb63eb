/**
 * The operator's console: one command for the day-to-day of a deployed environment, from the
 * owner's machine, over SSH (through the bastion in a cluster).
 *
 *   npm run ops -- [options] <env> <verb> [args]
 *   npm run ops -- prod status
 *   npm run ops -- prod logs -f
 *   printf %s "$VALUE" | npm run ops -- prod config set SOME_KEY
 *
 * Verbs and the server command each one runs: scripts/ops/verbs.ts (`npm run ops -- --help`).
 * Where it connects: the stack's outputs (scripts/ops/target.ts), or --host/--bastion.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_APP_NAME } from "../contract/server.js";
import { readStackOutputs, sshOptions, type Target, targetFromOutputs } from "./ops/target.js";
import { remoteCommand, UsageError, VERBS } from "./ops/verbs.js";

export interface OpsOptions {
  host?: string;
  bastion?: string;
  user?: string;
  identityFile?: string;
  port?: number;
  stack?: string;
  /** 1-based app server for verbs that run on one (default 1: the one with the backups). */
  server?: number;
  app: string;
  /** Print the ssh command lines instead of running them. */
  print: boolean;
}

const OPTION_NAMES: Record<string, keyof OpsOptions> = {
  "--host": "host",
  "--bastion": "bastion",
  "--user": "user",
  "-i": "identityFile",
  "--identity": "identityFile",
  "--port": "port",
  "--stack": "stack",
  "--server": "server",
  "--app": "app",
};

/** [options] <env> <verb> [args]: the verb's own arguments are passed on untouched. */
export function parseCommandLine(argv: string[]): { options: OpsOptions; env: string; verb: string; args: string[] } {
  const options: OpsOptions = { app: DEFAULT_APP_NAME, print: false };
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const a = argv[i]!;
    if (a === "--print") {
      options.print = true;
      continue;
    }
    const name = OPTION_NAMES[a];
    const value = argv[i + 1];
    if (!name || value === undefined) throw new UsageError(`unknown option ${a}`);
    i++;
    if (name === "port" || name === "server") {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${a} takes a positive number`);
      options[name] = Number(value);
    } else (options as unknown as Record<string, string>)[name] = value;
  }
  const [env, verb, ...args] = argv.slice(i);
  if (!env || !verb) throw new UsageError("an environment and a verb are needed");
  if (!/^[a-z][a-z0-9-]*$/.test(env)) throw new UsageError(`'${env}' is not an environment name`);
  if (!VERBS[verb]) throw new UsageError(`unknown verb '${verb}'`);
  return { options, env, verb, args };
}

export function resolveTarget(env: string, o: OpsOptions, outputs = readStackOutputs): Target {
  const fromStack = o.host ? undefined : targetFromOutputs(outputs(o.stack ?? `${o.app}-${env}`));
  const target: Target = fromStack ?? { user: "root", hosts: [o.host!], bastion: o.bastion };
  return {
    ...target,
    ...(o.user ? { user: o.user } : {}),
    ...(o.identityFile ? { identityFile: o.identityFile } : {}),
    ...(o.bastion ? { bastion: o.bastion } : {}),
  };
}

export interface SshInvocation {
  host: string;
  argv: string[];
  stdin: boolean;
}

/** The ssh command lines for a verb: one per server it runs on. */
export function plan(
  env: string,
  verbName: string,
  args: string[],
  o: OpsOptions,
  target: Target,
  tty: boolean,
): SshInvocation[] {
  const verb = VERBS[verbName]!;
  const command = remoteCommand(verb, args, target.user, o.app);
  const wantsTty = tty && (verb.tty?.(args) ?? false);
  if (o.server && o.server > target.hosts.length)
    throw new UsageError(`--server ${o.server}: ${env} has ${target.hosts.length} app server(s)`);
  const hosts = verb.everyServer && !o.server ? target.hosts : [target.hosts[(o.server ?? 1) - 1]!];
  return hosts.map((host) => ({
    host,
    argv: [...sshOptions(target, { tty: wantsTty, port: o.port }), `${target.user}@${host}`, command],
    stdin: verb.stdin ?? false,
  }));
}

function runSsh(invocation: SshInvocation, input: Buffer | undefined): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const ssh = process.env.TODO_SSH ?? "ssh";
    const child = spawn(ssh, invocation.argv, { stdio: [input ? "pipe" : "inherit", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
    if (input) child.stdin!.end(input);
  });
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function help(): string {
  const rows = Object.values(VERBS).map(
    (v) => `  ${v.usage}\n      ${v.summary}${v.everyServer ? " (every server)" : ""}`,
  );
  return [
    "usage: npm run ops -- [options] <env> <verb> [args]",
    "",
    "options: --stack NAME (default <app>-<env>)  --host IP [--bastion IP]  --user U  -i KEY  --port N",
    "         --server N (a cluster's app server, default 1)  --app NAME  --print (show the ssh commands only)",
    "",
    "verbs:",
    ...rows,
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  if (!argv.length || argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(`${help()}\n`);
    return argv.length ? 0 : 2;
  }
  const { options, env, verb, args } = parseCommandLine(argv);
  const target = resolveTarget(env, options);
  const invocations = plan(env, verb, args, options, target, Boolean(process.stdin.isTTY));
  if (options.print) {
    for (const i of invocations)
      process.stdout.write(`${["ssh", ...i.argv].map((w) => JSON.stringify(w)).join(" ")}\n`);
    return 0;
  }
  // A value to set is read once, here, and handed to each server on ssh's stdin.
  const input = invocations.some((i) => i.stdin) && !process.stdin.isTTY ? await readStdin() : undefined;
  for (const invocation of invocations) {
    if (invocations.length > 1) process.stderr.write(`ops: ${invocation.host}\n`);
    const code = await runSsh(invocation, input);
    if (code !== 0) {
      if (invocations.length > 1) process.stderr.write(`ops: ${invocation.host} failed (exit ${code}); stopped\n`);
      return code;
    }
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`ops: ${err instanceof Error ? err.message : String(err)}\n`);
      if (err instanceof UsageError) process.stderr.write("see: npm run ops -- --help\n");
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}

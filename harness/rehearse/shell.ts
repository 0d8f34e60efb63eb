import { spawn, type SpawnOptions } from "node:child_process";

/** A command that exited non-zero (or was killed), with what it printed, for the failure report. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`command failed (exit ${exitCode ?? "signal"}): ${command}\n${tail(output, 40)}`);
    this.name = "CommandError";
  }
}

export interface RunOptions {
  /** Text written to the command's stdin. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  /** Called with each chunk of output as it arrives (progress for long steps). */
  onOutput?: (chunk: string) => void;
}

export interface RunResult {
  code: number | null;
  /** stdout and stderr interleaved, as a person watching the terminal would see them. */
  output: string;
  stdout: string;
}

/** Runs a command without a shell; collects its output; throws CommandError on failure. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const printable = [command, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    };
    const child = spawn(command, args, spawnOptions);
    let output = "";
    let stdout = "";
    const onData = (isStdout: boolean) => (data: Buffer) => {
      const text = data.toString("utf8");
      output += text;
      if (isStdout) stdout += text;
      options.onOutput?.(text);
    };
    child.stdout!.on("data", onData(true));
    child.stderr!.on("data", onData(false));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.on("error", (error) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(printable, null, `${output}\n${error.message}`));
    });
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      if (timedOut) output += `\n[timed out after ${options.timeoutMs} ms]`;
      if (code === 0 || (options.allowFailure && !timedOut)) resolve({ code, output, stdout });
      else reject(new CommandError(printable, code, output));
    });
    child.stdin!.on("error", () => {
      /* the command may exit before reading its input; its exit code tells the story */
    });
    child.stdin!.end(options.input ?? "");
  });
}

export function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).join("\n");
}

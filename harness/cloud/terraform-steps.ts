/**
 * The steps both rehearse:cloud scenarios run (the booted server's, boot-scenario.ts, and the
 * record-only environments', variant-scenario.ts): terraform and cdktf as child processes, each
 * step timed and recorded, the synthesized stack copied into its own state directory, a plan's
 * resource changes, and destroy with the stand-in left empty.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PlannedChange } from "./change-table.js";
import type { LocalCloud } from "../../local-cloud/server.js";
import { stripDescriptions, targets } from "./scenario-config.js";

export interface Step {
  step: string;
  seconds: number;
  ok: boolean;
  note?: string;
}

export class TerraformSteps {
  readonly steps: Step[] = [];
  private readonly began = Date.now();

  /** `env` is the child processes' environment; a scenario changes TODO_STACK_CONFIG in it between steps. */
  constructor(
    readonly env: NodeJS.ProcessEnv,
    private readonly stripRefusedDescriptions: boolean,
  ) {}

  record(step: string, started: number, ok: boolean, note?: string): boolean {
    this.steps.push({ step, seconds: (Date.now() - started) / 1000, ok, note });
    const at = ((Date.now() - this.began) / 1000).toFixed(0).padStart(4);
    console.log(
      `[${at} s] ${ok ? "ok  " : "FAIL"} ${step} (${((Date.now() - started) / 1000).toFixed(1)} s)${note ? `: ${note}` : ""}`,
    );
    return ok;
  }

  /** Runs a command asynchronously: the stand-in answers from this same process meanwhile. */
  async run(
    step: string,
    cmd: string,
    args: string[],
    cwd: string,
    okCodes = [0],
  ): Promise<{ code: number; out: string }> {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    this.record(step, started, okCodes.includes(code));
    if (!okCodes.includes(code))
      console.log(
        out
          // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
          .replace(/\x1b\[[0-9;]*m/g, "")
          .split("\n")
          .filter((l) => /error|│/i.test(l))
          .slice(0, 40)
          .join("\n"),
      );
    return { code, out };
  }

  /**
   * `cdktf synth` of the current config in the checkout `from`, copied into `stackDir` with its state
   * kept there; the -target list of every resource except the types in `skip`.
   */
  async synth(
    step: string,
    from: string,
    stackDir: string,
    skip: readonly string[],
    why: string,
  ): Promise<string[] | undefined> {
    if ((await this.run(step, "npx", ["cdktf", "synth"], from)).code !== 0) return undefined;
    mkdirSync(stackDir, { recursive: true });
    const stack = JSON.parse(readFileSync(join(from, "cdktf.out", "stacks", "todo-api-dev", "cdk.tf.json"), "utf8"));
    stack.terraform.backend = { local: { path: join(stackDir, "terraform.tfstate") } };
    if (this.stripRefusedDescriptions)
      console.log(
        `note: --strip-descriptions stripped refused characters from ${stripDescriptions(stack.resource)} descriptions`,
      );
    writeFileSync(join(stackDir, "cdk.tf.json"), JSON.stringify(stack, null, 1));
    const { included, excluded } = targets(stack, skip);
    if (excluded.length) console.log(`left out (${why}): ${excluded.join(", ")}`);
    return included.map((a) => `-target=${a}`);
  }

  /** `terraform plan -out=<plan>` with `args` (targets), then what it does to each resource. */
  async planChanges(
    step: string,
    stackDir: string,
    plan: string,
    args: string[] = [],
  ): Promise<PlannedChange[] | undefined> {
    if (
      (
        await this.run(
          `${step}: terraform plan`,
          "terraform",
          ["plan", "-input=false", "-no-color", `-out=${plan}`, ...args],
          stackDir,
        )
      ).code !== 0
    )
      return undefined;
    const shown = await this.run(`${step}: terraform show`, "terraform", ["show", "-json", plan], stackDir);
    return (JSON.parse(shown.out.slice(shown.out.indexOf("{"))).resource_changes ?? []) as PlannedChange[];
  }

  /** `terraform destroy` of everything in the state, then the stand-in must hold nothing. */
  async destroy(step: string, stackDir: string, cloud: LocalCloud): Promise<boolean> {
    const destroy = await this.run(
      `${step}: terraform destroy`,
      "terraform",
      ["destroy", "-auto-approve", "-input=false", "-no-color"],
      stackDir,
    );
    await new Promise((r) => setTimeout(r, cloud.store.transitionMs + 200));
    const left = cloud.store.snapshot();
    this.record(
      `${step}: stand-in holds zero resources`,
      Date.now(),
      left.length === 0,
      left.map((r) => `${r.kind}/${r.id}`).join(", "),
    );
    return destroy.code === 0 && left.length === 0;
  }
}

/** One line per resource a plan changes: `address: update`, `address: delete+create`. */
export function describeChanges(changes: PlannedChange[]): string[] {
  return changes
    .filter((c) => !["no-op", "read"].includes(c.change.actions.join()))
    .map((c) => `${c.address}: ${c.change.actions.join("+")}`);
}

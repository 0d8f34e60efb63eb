import { App } from "cdktf";
import type { StackConfig } from "./config/schema.js";
import type { Release } from "./constructs/app-deployment.js";
import { TodoStack } from "./stacks/todo-stack.js";

export interface BuildAppOptions {
  config: StackConfig;
  release: Release;
  /** Synth output directory (default: cdktf's, from CDKTF_OUTDIR or cdktf.out). */
  outdir?: string;
}

/** One TerraformStack per environment, named <project>-<environment> (e.g. todo-api-dev). */
export function buildApp(opts: BuildAppOptions): { app: App; stacks: TodoStack[] } {
  const app = new App(opts.outdir ? { outdir: opts.outdir } : {});
  const stacks = opts.config.environments.map(
    (environment) =>
      new TodoStack(app, `${opts.config.project}-${environment.name}`, {
        project: opts.config.project,
        environment,
        state: opts.config.state,
        release: opts.release,
      }),
  );
  return { app, stacks };
}

import { existsSync } from "node:fs";
import { devNull } from "node:os";

/**
 * When TF_CLI_CONFIG_FILE (or the older TERRAFORM_CONFIG) names a file that does not exist,
 * Terraform runs with no CLI configuration and prints "There are some problems with the CLI
 * configuration" on every call — which cdktf's libraries relay as `[ERROR]` (they run
 * `terraform version` as soon as they are loaded). Pointing the variable at an empty file (the
 * null device) gives Terraform the same empty configuration without the alarm. Only this process
 * and its children are affected; a configuration file that exists is always used as it is.
 *
 * Returns the missing path it replaced, if any.
 */
export function useEmptyTerraformCliConfigIfMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  let replaced: string | undefined;
  for (const name of ["TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG"]) {
    const path = env[name];
    if (path && !existsSync(path)) {
      replaced ??= path;
      env[name] = devNull;
    }
  }
  return replaced;
}

/**
 * @cdktf/commons also asks HashiCorp's checkpoint service for news when it is loaded; offline
 * (no DNS for it) that prints `[ERROR] getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com`. The
 * generator works offline by design, so it opts out (CHECKPOINT_DISABLE, Terraform's own switch).
 */
export function disableCheckpoint(env: NodeJS.ProcessEnv = process.env): void {
  env.CHECKPOINT_DISABLE ??= "1";
}

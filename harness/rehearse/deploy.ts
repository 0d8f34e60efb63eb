import { copyFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { installKitCommands, switchReleaseCommands } from "../../contract/deploy-steps.js";
import { HOST_CONF_PATH } from "../../contract/server.js";
import type { Container } from "./container.js";
import type { Release } from "./releases.js";

/**
 * A deploy in the rehearsal container, with exactly the server-side steps of the stack's deploy
 * step and `npm run deploy` (contract/deploy-steps.ts): optionally new host settings, then the
 * release's server kit (server/install), then `todo-release deploy`. Over nsenter instead of SSH.
 */
export async function deployInContainer(
  box: Container,
  release: Release,
  options: { hostSettings?: string; timeoutMs?: number } = {},
) {
  const inside = `/var/tmp/${basename(release.path)}`;
  await copyFile(release.path, join(box.root, inside));
  if (options.hostSettings !== undefined) await box.writeFile(HOST_CONF_PATH, options.hostSettings, 0o644);
  const script = [
    "set -eu",
    ...installKitCommands(inside, release.hash, ""),
    ...switchReleaseCommands(inside, ""),
  ].join("\n");
  return box.exec(script, { allowFailure: true, timeoutMs: options.timeoutMs ?? 900_000 });
}

/** Only the server kit (server/install) of a release, without switching releases. */
export async function installKitInContainer(box: Container, release: Release, timeoutMs = 900_000) {
  const inside = `/var/tmp/${basename(release.path)}`;
  await copyFile(release.path, join(box.root, inside));
  return box.exec(["set -eu", ...installKitCommands(inside, release.hash, "")].join("\n"), {
    allowFailure: true,
    timeoutMs,
  });
}

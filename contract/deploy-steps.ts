/**
 * What a deploy runs on the server, shared by the stack's deploy step (remote-exec over SSH) and
 * `npm run deploy`, so both converge a host the same way:
 *
 *   1. unpack the release's server kit and run it (`server/install`: packages, pinned Node.js,
 *      every server script, unit and site, then todo-setup, which marks the setup done);
 *   2. (the caller writes the secrets with `todo-release set-env`, values on stdin);
 *   3. switch to the release with `todo-release deploy`; when the release was already current
 *      (a deploy that changed only settings, env values or the pinned Node.js), restart the app
 *      instances one at a time so they take effect.
 *
 * The uploaded tarball is removed when a step fails and after the last one; tarballs that
 * interrupted deploys left next to it are pruned after an hour.
 *
 * `sudo` is the prefix for privileged commands: "$SUDO" in the Terraform scripts, "" when the
 * whole script already runs as root. No line contains "${" or "%{" (Terraform would evaluate it).
 */
import { DEFAULT_APP_NAME, FLEET_PUBLISH_COMMAND, KIT_STAGING_DIR, RELEASE_COMMAND } from "./server.js";
import { RELEASE_APP_NAME, RELEASE_KIT_DIR } from "./release.js";

/** How many unpacked kits stay in KIT_STAGING_DIR (for looking at what was installed). */
const KEEP_KITS = 3;
/**
 * Release tarballs older than this next to the uploaded one are leftovers of deploys that were cut
 * off (a dropped SSH connection runs no trap) and are removed; younger ones may belong to a deploy
 * still running from another machine.
 */
export const TARBALL_LEFTOVER_MINUTES = 60;

/**
 * The uploaded tarball is removed when the deploy fails at any step (its script exits non-zero)
 * and at the end of a successful one (switchReleaseCommands); a 100 MB copy per failed deploy
 * would otherwise pile up in /tmp.
 */
export const removeTarballOnFailure = (tarball: string, sudo: string) =>
  `trap 'status=$?; if [ "$status" -ne 0 ]; then ${sudo} rm -f -- ${tarball}; fi' EXIT`;

export function installKitCommands(tarball: string, hash: string, sudo: string): string[] {
  const stage = `${KIT_STAGING_DIR}/${hash}`;
  const slash = tarball.lastIndexOf("/");
  return [
    removeTarballOnFailure(tarball, sudo),
    `${sudo} find ${tarball.slice(0, slash) || "/"} -maxdepth 1 -type f -name '${RELEASE_APP_NAME}-*.tar.gz' ! -name '${tarball.slice(slash + 1)}' -mmin +${TARBALL_LEFTOVER_MINUTES} -delete`,
    `${sudo} mkdir -p ${KIT_STAGING_DIR}`,
    `${sudo} rm -rf ${stage}.new`,
    `${sudo} mkdir -p ${stage}.new`,
    `${sudo} tar -xzf ${tarball} -C ${stage}.new --no-same-owner ${RELEASE_KIT_DIR}`,
    `${sudo} rm -rf ${stage}`,
    `${sudo} mv -T ${stage}.new ${stage}`,
    `${sudo} ${stage}/${RELEASE_KIT_DIR}/install`,
    `${sudo} find ${KIT_STAGING_DIR} -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\\n' | sort -rn | tail -n +${KEEP_KITS + 1} | cut -d' ' -f2 | xargs -r ${sudo} rm -rf`,
  ];
}

export function switchReleaseCommands(tarball: string, sudo: string, appName: string = DEFAULT_APP_NAME): string[] {
  const current = `/opt/${appName}/current`;
  return [
    `trap '${sudo} rm -f -- ${tarball}' EXIT`,
    `before=$(readlink ${current} 2>/dev/null || true)`,
    `${sudo} ${RELEASE_COMMAND} deploy ${tarball}`,
    `if [ -n "$before" ] && [ "$before" = "$(readlink ${current} 2>/dev/null || true)" ]; then ${sudo} ${RELEASE_COMMAND} restart; fi`,
  ];
}

/**
 * Auto scaling, on the first fixed server (docs/auto-scaling.md, "A release"): uploads the release
 * and the app's settings (as `todo-release set-env` wrote them) under fleet/<deploy>/ and records
 * the pending pointer. After the kit is installed and the settings are written, BEFORE
 * switchReleaseCommands (which removes the tarball). Prints no setting's value.
 */
export function publishFleetCommands(tarball: string, sudo: string): string[] {
  return [`${sudo} ${FLEET_PUBLISH_COMMAND} ${tarball}`];
}

/**
 * Moves fleet/current to the pending deploy: the fleet's servers take it at their next
 * todo-fleet-sync. Run on the first fixed server after the LAST fixed server's deploy step.
 */
export function pointFleetCommands(sudo: string): string[] {
  return [`${sudo} ${FLEET_PUBLISH_COMMAND} --point`];
}

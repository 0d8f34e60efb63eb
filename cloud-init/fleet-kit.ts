/**
 * The auto-scaling parts of the kit (docs/auto-scaling.md): which host settings, server files and
 * user-data entries the `seed` and `fleet` options add. Without either option, nothing: a server
 * without them keeps its host settings, files and user data byte for byte.
 *
 *   seed              todo-seed (+ .service, .timer every 30 s), seed.mjs, volc-openapi.mjs
 *   fleet, member=0   todo-fleet-publish, fleet-publish.mjs (the deploy step publishes each deploy)
 *   fleet, member=1   todo-fleet-join, fleet-join.mjs, todo-fleet-sync (+ .service, .timer 60 s);
 *                     the user data carries fleet-join.mjs and starts it after todo-bootstrap,
 *                     once cloud-init is done
 *
 * Each .mjs imports role-client.mjs (the host settings reader, the role's credentials, the SigV4
 * signer), which the kit installs beside them; fleet-publish.mjs also offsite.mjs's retrying client.
 */
import {
  BOOTSTRAP_COMMAND,
  FLEET_JOIN_COMMAND,
  FLEET_JOIN_LOCK,
  FLEET_JOIN_SCRIPT,
  ROLE_CLIENT_SCRIPT,
} from "../contract/server.js";
import type { ResolvedCloudInitOptions } from "./options.js";

const LIB = "/usr/local/lib/todo";
/** The first boot's join, a transient unit: `journalctl -u todo-fleet-join-boot`. */
export const FLEET_JOIN_BOOT_UNIT = "todo-fleet-join-boot";
const UNITS = "/etc/systemd/system";

/** The host settings the scripts read (SEED_* in seed.mjs, FLEET_* in fleet-join.mjs and fleet-publish.mjs). */
export function fleetHostSettings(o: ResolvedCloudInitOptions): Record<string, string> {
  return {
    ...(o.seed
      ? {
          SEED_GROUP_ID: o.seed.groupId,
          SEED_APP_ROLE: o.seed.appRoleName,
          SEED_REGION: o.seed.region,
          SEED_ENDPOINT: o.seed.endpoint.replace(/\/+$/, ""),
        }
      : {}),
    ...(o.fleet
      ? {
          FLEET_BUCKET: o.fleet.bucket,
          FLEET_REGION: o.fleet.region,
          FLEET_ENDPOINT: o.fleet.endpoint.replace(/\/+$/, ""),
          FLEET_MEMBER: o.fleet.member ? "1" : "0",
          ...(o.fleet.roleName ? { FLEET_ROLE: o.fleet.roleName } : {}),
        }
      : {}),
  };
}

/** A server file as [path, template under cloud-init/, mode]. */
export type FileSpec = [path: string, template: string, permissions: "0644" | "0755"];

export function fleetFiles(o: ResolvedCloudInitOptions): FileSpec[] {
  const files: FileSpec[] = [];
  if (o.seed || o.fleet) files.push([ROLE_CLIENT_SCRIPT, "lib/role-client.mjs", "0644"]);
  if (o.seed) {
    files.push(
      [`${LIB}/volc-openapi.mjs`, "lib/volc-openapi.mjs", "0644"],
      [`${LIB}/seed.mjs`, "lib/seed.mjs", "0644"],
      ["/usr/local/sbin/todo-seed", "bin/todo-seed", "0755"],
      [`${UNITS}/todo-seed.service`, "systemd/todo-seed.service", "0644"],
      [`${UNITS}/todo-seed.timer`, "systemd/todo-seed.timer", "0644"],
    );
  }
  if (o.fleet && !o.fleet.member) {
    files.push(
      [`${LIB}/offsite.mjs`, "lib/offsite.mjs", "0644"],
      [`${LIB}/fleet-publish.mjs`, "lib/fleet-publish.mjs", "0644"],
      ["/usr/local/sbin/todo-fleet-publish", "bin/todo-fleet-publish", "0755"],
    );
  }
  if (o.fleet?.member) {
    files.push(
      [FLEET_JOIN_SCRIPT, "lib/fleet-join.mjs", "0644"],
      [FLEET_JOIN_COMMAND, "bin/todo-fleet-join", "0755"],
      [`${UNITS}/todo-fleet-sync.service`, "systemd/todo-fleet-sync.service", "0644"],
      [`${UNITS}/todo-fleet-sync.timer`, "systemd/todo-fleet-sync.timer", "0644"],
    );
  }
  return files;
}

/** What a fleet member's user data adds: the join and its client, and the first boot's command. */
export function fleetUserData(o: ResolvedCloudInitOptions): { files: FileSpec[]; runcmd: string[] } | undefined {
  if (!o.fleet?.member) return undefined;
  return {
    files: [
      [ROLE_CLIENT_SCRIPT, "lib/role-client.mjs", "0644"],
      [FLEET_JOIN_SCRIPT, "lib/fleet-join.mjs", "0644"],
    ],
    // After the packages and Node.js (todo-bootstrap), the join: waits for the role the seed
    // associates, pulls fleet/current's deploy and runs the deploy steps. Not inside cloud-init:
    // the deploy steps wait for cloud-init to finish (server/install, todo-release), which would
    // wait for this command, so the join runs as a unit of its own (--no-block: cloud-init goes on
    // and finishes, and the steps' waits end). It takes the lock that todo-fleet-join (the
    // timer's) takes, waiting for it rather than skipping.
    runcmd: [
      "sh",
      "-c",
      `${BOOTSTRAP_COMMAND} && systemd-run --unit=${FLEET_JOIN_BOOT_UNIT} --no-block /usr/bin/flock ${FLEET_JOIN_LOCK} /usr/local/bin/node ${FLEET_JOIN_SCRIPT}`,
    ],
  };
}

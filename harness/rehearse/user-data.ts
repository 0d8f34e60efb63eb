import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { EXAMPLE_CONFIG_FILE, loadStackConfig } from "../../infra/config/load.js";
import { singleServerCloudInit } from "../../infra/stacks/server-cloud-init.js";
import { renderCloudInit } from "../../cloud-init/render.js";
import { cloudInitOptionsSchema, type CloudInitOptions } from "../../cloud-init/options.js";

/**
 * The user data the rehearsal server boots with: the infra stack's own derivation
 * (`singleServerCloudInit`, infra/stacks/server-cloud-init.ts) for the example configuration's
 * `dev` environment — database mode `local`, no domain — rendered by `renderCloudInit`. Two things
 * differ, both because nothing here is Volcengine: Node.js comes from the rehearsal's loopback
 * mirror (through the same `nodeMirror` option a user in China would set), and there is no TOS
 * bucket or instance role, so off-server backup uploads are left out.
 * REHEARSAL_USER_DATA=<file> boots a given cloud-config instead (for debugging the machinery);
 * `{{nodeMirror}}` in it is replaced by the mirror URL.
 */
export interface RehearsalUserData {
  text: string;
  source: string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ENVIRONMENT = "dev";
// The example configuration reads the admin's public key from ~/.ssh; the rehearsal logs in with
// nsenter, not SSH, so any well-formed key does.
const PLACEHOLDER_PUBLIC_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8rBqkH1m2oQpX7m4kV3r8gkJm9u2cC5y0cN8i6bWcd rehearsal@localhost";

/** The Node.js the rehearsal's mirror serves (its own tarball, so its own SHA-256, not the pin's). */
export interface MirrorNode {
  version: string;
  sha256X64: string;
}

export function rehearsalCloudInitOptions(nodeMirror: string, node?: MirrorNode): CloudInitOptions {
  const config = loadStackConfig({
    cwd: root,
    env: {
      TODO_STACK_CONFIG: join(root, EXAMPLE_CONFIG_FILE),
      TODO_ENVIRONMENTS: ENVIRONMENT,
      TODO_SSH_PUBLIC_KEY: PLACEHOLDER_PUBLIC_KEY,
    },
  });
  const env = config.environments.find((e) => e.name === ENVIRONMENT);
  if (!env) throw new Error(`${EXAMPLE_CONFIG_FILE} has no "${ENVIRONMENT}" environment to rehearse`);
  if (env.database.mode !== "local" || env.https) {
    throw new Error(
      `the rehearsal boots database mode local without a domain; ${EXAMPLE_CONFIG_FILE}'s "${ENVIRONMENT}" is not that`,
    );
  }
  const { offsiteBackup: _noTosHere, ...options } = singleServerCloudInit(env, `${config.project}-${env.name}`);
  return {
    ...options,
    nodeMirror,
    ...(node ? { nodeVersion: node.version, nodeSha256: { x64: node.sha256X64 } } : {}),
  };
}

/** The Node.js major the servers run (of the version pinned in contract/node-release.json). */
export function nodeMajorOf(options: CloudInitOptions): number {
  return Number(cloudInitOptionsSchema.parse(options).nodeVersion.split(".")[0]);
}

/** The app name (system user, unit prefix, /opt/<name>) the rendered user data uses. */
export function appNameOf(options: CloudInitOptions): string {
  return cloudInitOptionsSchema.parse(options).appName;
}

/** The app ports the rendered user data configures. */
export function appPortsOf(options: CloudInitOptions): number[] {
  return cloudInitOptionsSchema.parse(options).appPorts;
}

export async function rehearsalUserData(nodeMirror: string, node?: MirrorNode): Promise<RehearsalUserData> {
  if (process.env.REHEARSAL_PREVIOUS_USER_DATA) {
    const { previousUserData, PREVIOUS_USER_DATA } = await import("./previous-user-data.js");
    return {
      text: previousUserData(nodeMirror),
      source: `the previous version's user data (${PREVIOUS_USER_DATA.pathname})`,
    };
  }
  const override = process.env.REHEARSAL_USER_DATA;
  if (override) {
    const text = (await readFile(override, "utf8")).replaceAll("{{nodeMirror}}", nodeMirror);
    return { text, source: override };
  }
  return {
    text: renderCloudInit(rehearsalCloudInitOptions(nodeMirror, node)),
    source: `the infra stack's singleServerCloudInit for ${EXAMPLE_CONFIG_FILE} "${ENVIRONMENT}" (database mode local, no domain), rendered by renderCloudInit`,
  };
}

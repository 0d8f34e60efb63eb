import { readFile } from "node:fs/promises";
import { renderCloudInit } from "../../cloud-init/render.js";
import { cloudInitOptionsSchema, type CloudInitOptions } from "../../cloud-init/options.js";

/**
 * The user data the rehearsal server boots with: `renderCloudInit` called with the options the
 * infra stack derives for database mode `local` and no domain (infra/stacks/todo-stack.ts passes
 * environment, databaseMode, and nodeMirror when configured; everything else is the default), with
 * Node.js from the rehearsal's mirror — the same `nodeMirror` option a user in China would set.
 * REHEARSAL_USER_DATA=<file> boots a given cloud-config instead (for debugging the machinery);
 * `{{nodeMirror}}` in it is replaced by the mirror URL.
 */
export interface RehearsalUserData {
  text: string;
  source: string;
}

export function rehearsalCloudInitOptions(nodeMirror: string): CloudInitOptions {
  return { environment: "rehearsal", databaseMode: "local", nodeMirror };
}

/** The Node.js major the rendered user data installs (the options' default unless overridden). */
export function nodeMajorOf(options: CloudInitOptions): number {
  return cloudInitOptionsSchema.parse(options).nodeMajor;
}

/** The app name (system user, unit prefix, /opt/<name>) the rendered user data uses. */
export function appNameOf(options: CloudInitOptions): string {
  return cloudInitOptionsSchema.parse(options).appName;
}

/** The app ports the rendered user data configures. */
export function appPortsOf(options: CloudInitOptions): number[] {
  return cloudInitOptionsSchema.parse(options).appPorts;
}

export async function rehearsalUserData(nodeMirror: string): Promise<RehearsalUserData> {
  const override = process.env.REHEARSAL_USER_DATA;
  if (override) {
    const text = (await readFile(override, "utf8")).replaceAll("{{nodeMirror}}", nodeMirror);
    return { text, source: override };
  }
  return {
    text: renderCloudInit(rehearsalCloudInitOptions(nodeMirror)),
    source: "renderCloudInit (cloud-init/render.ts), database mode local, no domain",
  };
}

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";

/**
 * The user data the rehearsal server boots with: rendered by the project's own code, with the
 * options the infra stack passes for database mode `local` and no domain, except that Node.js
 * comes from the rehearsal's mirror (the same `nodeMirror` option a user in China would set).
 * REHEARSAL_USER_DATA=<file> boots a given cloud-config instead (for debugging the machinery);
 * `{{nodeMirror}}` in it is replaced by the mirror URL.
 */
export interface RehearsalUserData {
  text: string;
  source: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

export async function rehearsalUserData(nodeMirror: string, nodeMajor: number): Promise<RehearsalUserData> {
  const override = process.env.REHEARSAL_USER_DATA;
  if (override) {
    const text = (await readFile(override, "utf8")).replaceAll("{{nodeMirror}}", nodeMirror);
    return { text, source: override };
  }

  const renderModule = join(repoRoot, "cloud-init/render.ts");
  if (!existsSync(renderModule)) {
    throw new Error("cloud-init/render.ts does not exist yet: nothing to rehearse (or set REHEARSAL_USER_DATA)");
  }
  // Imported by path so this script type-checks before the renderer lands.
  const { renderCloudInit } = (await import(renderModule)) as {
    renderCloudInit: (options: Record<string, unknown>) => string;
  };
  const text = renderCloudInit({
    environment: "rehearsal",
    databaseMode: "local",
    nodeMajor,
    nodeMirror,
    appPorts: [3001, 3002],
  });
  return { text, source: "renderCloudInit (cloud-init/render.ts)" };
}

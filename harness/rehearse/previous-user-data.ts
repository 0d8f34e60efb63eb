import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse, stringify } from "yaml";
import { createTar, gzipDeterministic, readTar } from "../../contract/tar.js";

/**
 * The user data of the previous version (before the server kit: every server script in one gzip'd tar
 * in write_files, todo-setup run by runcmd), frozen as test/fixtures/previous-user-data.yaml:
 * rendered by that version's cloud-init/render.ts for the rehearsal's options with the Node.js
 * mirror "http://mirror.invalid". The rehearsal boots it (REHEARSAL_PREVIOUS_USER_DATA=1) and then
 * deploys this version's release, which must converge the server — what an owner of a server
 * created by the old user data goes through on the first deploy of this version.
 */
export const PREVIOUS_USER_DATA = new URL("../../test/fixtures/previous-user-data.yaml", import.meta.url);
const ARCHIVE = "/var/lib/todo-setup/files.tar";

/** The frozen user data with the rehearsal mirror's URL in its host settings. */
export function previousUserData(nodeMirror: string): string {
  const config = parse(readFileSync(PREVIOUS_USER_DATA, "utf8")) as {
    write_files: { path: string; content: string }[];
  };
  const entry = config.write_files.find((f) => f.path === ARCHIVE);
  if (!entry) throw new Error(`${PREVIOUS_USER_DATA.pathname} has no ${ARCHIVE}`);
  const files = readTar(gunzipSync(Buffer.from(entry.content, "base64"))).map((e) =>
    e.path === "etc/todo-host.conf"
      ? {
          ...e,
          content: Buffer.from(
            e.content!.toString("utf8").replace("NODE_MIRROR='http://mirror.invalid'", `NODE_MIRROR='${nodeMirror}'`),
          ),
        }
      : e,
  );
  entry.content = gzipDeterministic(createTar(files)).toString("base64");
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}

import { USER_DATA_LIMIT_BYTES } from "../../contract/server.js";

export { USER_DATA_LIMIT_BYTES };

export class UserDataTooLargeError extends Error {
  constructor(
    readonly label: string,
    readonly bytes: number,
  ) {
    super(
      `User data for ${label} is ${bytes} bytes; ECS accepts at most ${USER_DATA_LIMIT_BYTES} bytes ` +
        `(before base64). Shrink the cloud-config rendered by cloud-init/render.ts (gzip+base64 large ` +
        `write_files, move anything big into the release tarball that the deploy step ships over SSH).`,
    );
    this.name = "UserDataTooLargeError";
  }
}

/**
 * Base64 of the cloud-config, computed here at synth time. Besides being what the ECS API wants,
 * base64 contains no "${" or "%{", so Terraform cannot mistake the shell variables of the
 * cloud-config for its own interpolation (which Fn.base64encode(raw text) would not prevent).
 */
export function encodeUserData(cloudConfig: string, label: string): string {
  const bytes = Buffer.byteLength(cloudConfig, "utf8");
  if (bytes > USER_DATA_LIMIT_BYTES) throw new UserDataTooLargeError(label, bytes);
  return Buffer.from(cloudConfig, "utf8").toString("base64");
}

/**
 * The release file format: `todo-api-<hash>.tar.gz`, a deterministic tar+gzip (contract/tar.ts)
 * holding `RELEASE` (the hash), the app bundles, and `server/` — the server kit (todo-setup, every
 * server script, unit and Nginx site) that the deploy installs before switching releases.
 */
import { basename } from "node:path";
import { DEFAULT_APP_NAME } from "./server.js";

export const RELEASE_APP_NAME = DEFAULT_APP_NAME;

/** 12 hex digits: the first 12 of a SHA-256 over the sorted file list and contents. */
export const RELEASE_HASH_PATTERN = /^[0-9a-f]{12}$/;

/** Folder inside the release tarball that carries the server kit. */
export const RELEASE_KIT_DIR = "server";

/**
 * A file in the release root whose presence says its server takes the listening socket systemd
 * passes (socket activation, the kit's app@.socket). The kit starts an instance on its socket unit
 * only under such a release: an older one binds 127.0.0.1:PORT itself. Its name is spelled out in
 * cloud-init/bin/todo-release, todo-setup and systemd/app@.socket.
 */
export const SOCKET_ACTIVATION_MARKER = "SOCKET_ACTIVATION";

export interface Release {
  /** Absolute (or at least local) path of the .tar.gz. */
  path: string;
  /** 12 hex digits identifying the release's content. */
  hash: string;
}

export const releaseFileName = (hash: string) => `${RELEASE_APP_NAME}-${hash}.tar.gz`;

/** Where the deploy puts the tarball on the server before installing it. */
export const remoteTarballPath = (hash: string) => `/tmp/${releaseFileName(hash)}`;

/** The hash in a release file name, or undefined when the name is not `todo-api-<hash>.tar.gz`. */
export function releaseHashOf(path: string): string | undefined {
  const match = /^todo-api-([0-9a-f]{12})\.tar\.gz$/.exec(basename(path));
  return match?.[1];
}

import type { FilesConfig } from "../config.js";
import { LocalObjectStore } from "./local-object-store.js";
import type { ObjectStore } from "./object-store.js";
import { createTosObjectStore } from "./tos-object-store.js";

/** The store FILES_STORAGE names; none when files are off (the routes answer 404 `files_disabled`). */
export function createObjectStore(files: FilesConfig): ObjectStore | undefined {
  switch (files.storage) {
    case "off":
      return undefined;
    case "local":
      return new LocalObjectStore(files.local.dir, files.local.signingKey);
    case "tos":
      return createTosObjectStore(files.tos);
  }
}

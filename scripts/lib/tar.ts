/** Moved to contract/tar.ts (the release file format); kept so command-line scripts' imports keep working. */
export * from "../../contract/tar.js";

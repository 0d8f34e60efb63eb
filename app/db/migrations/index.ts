import type { Migration } from "kysely";
import * as m0001 from "./0001_initial.js";

/**
 * Every migration, by name, in order. A static record (not a folder scan) so the production
 * bundle carries its migrations inside it.
 */
export const migrations: Record<string, Migration> = {
  "0001_initial": m0001,
};

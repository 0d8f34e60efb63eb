import type { ObjectStore, TosStoreSettings } from "./object-store.js";

/** Volcengine TOS through `@volcengine/tos-sdk`. Placeholder until the SDK store lands. */
export function createTosObjectStore(_settings: TosStoreSettings): ObjectStore {
  throw new Error("the TOS object store is not built yet");
}

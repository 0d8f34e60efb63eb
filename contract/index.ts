/** The server contract (see contract/server.ts): one import for the parts that share it. */
export * from "./server.js";
export * from "./release.js";
export * from "./validation.js";
export * from "./node.js";
export * from "./deploy-steps.js";

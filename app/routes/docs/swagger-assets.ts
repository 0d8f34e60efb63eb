import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * Swagger UI's files from the installed `swagger-ui-dist` package, served by us (no CDN: it must
 * work where public CDNs are slow or blocked). The production build replaces this module with
 * one that has the files embedded, so the bundle needs no node_modules for the docs.
 */
export interface SwaggerAssets {
  "swagger-ui-bundle.js": string;
  "swagger-ui.css": string;
}

let cached: SwaggerAssets | undefined;

export function swaggerAssets(): SwaggerAssets {
  if (!cached) {
    const require = createRequire(import.meta.url);
    const read = (file: string) => readFileSync(require.resolve(`swagger-ui-dist/${file}`), "utf8");
    cached = { "swagger-ui-bundle.js": read("swagger-ui-bundle.js"), "swagger-ui.css": read("swagger-ui.css") };
  }
  return cached;
}

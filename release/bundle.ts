import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

/**
 * The app bundler (`npm run build`, scripts/build.ts; the release builder): the production server and migration command as two self-contained ESM bundles,
 * dist/server.mjs, dist/migrate.mjs and dist/admin.mjs, runnable with plain `node`. Only @node-rs/bcrypt (a native
 * addon) stays outside and must be in node_modules next to them. PGlite is not bundled: it is
 * loaded only when DATABASE_URL is unset, which production refuses.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const EXTERNAL_PACKAGES = ["@node-rs/bcrypt", "@electric-sql/pglite", "pg-native"];

/**
 * What CommonJS dependencies expect of their module scope, given to the ESM bundle: `require()`
 * (pg, pino) and `__dirname`/`__filename` (the TOS SDK's CRC module, an Emscripten build, reads
 * `__dirname` when it loads, although its WebAssembly is inlined).
 */
export const COMMONJS_IN_ESM_BANNER = [
  'import { createRequire as __todoApiCreateRequire } from "node:module";',
  'import { dirname as __todoApiDirname } from "node:path";',
  'import { fileURLToPath as __todoApiFileURLToPath } from "node:url";',
  "const require = __todoApiCreateRequire(import.meta.url);",
  "const __filename = __todoApiFileURLToPath(import.meta.url);",
  "const __dirname = __todoApiDirname(__filename);",
].join("\n");

export interface BuildResult {
  server: string;
  migrate: string;
  /** The admin command (`todo-admin` on servers). */
  admin: string;
}

/** Embeds Swagger UI's files so /docs works without node_modules (and without a CDN). */
const embedSwaggerAssets: Plugin = {
  name: "embed-swagger-assets",
  setup(b) {
    b.onLoad({ filter: /[\\/]routes[\\/]docs[\\/]swagger-assets\.ts$/ }, () => {
      const require = createRequire(join(root, "package.json"));
      const read = (file: string) => readFileSync(require.resolve(`swagger-ui-dist/${file}`), "utf8");
      const assets = { "swagger-ui-bundle.js": read("swagger-ui-bundle.js"), "swagger-ui.css": read("swagger-ui.css") };
      return {
        loader: "js",
        contents: `const assets = ${JSON.stringify(assets)};\nexport function swaggerAssets() { return assets; }\n`,
      };
    });
  },
};

/** `plugins`: extra esbuild plugins (the rehearsal builds a release with an extra migration). */
export async function buildServer(options: { outDir?: string; plugins?: Plugin[] } = {}): Promise<BuildResult> {
  const outdir = resolve(options.outDir ?? join(root, "dist"));
  await build({
    absWorkingDir: root,
    entryPoints: { server: "app/main.ts", migrate: "app/db/migrate-cli.ts", admin: "app/admin-cli.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL_PACKAGES,
    banner: { js: COMMONJS_IN_ESM_BANNER },
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: "eof",
    logLevel: "warning",
    plugins: [embedSwaggerAssets, ...(options.plugins ?? [])],
  });
  return { server: join(outdir, "server.mjs"), migrate: join(outdir, "migrate.mjs"), admin: join(outdir, "admin.mjs") };
}

/**
 * The server kit's installer (cloud-init/kit.ts) as one ESM file, `server/kit.mjs` in the release:
 * it runs on the server with the pinned Node.js and needs nothing from node_modules.
 */
export async function buildServerKit(outFile: string): Promise<string> {
  await build({
    absWorkingDir: root,
    entryPoints: ["cloud-init/kit.ts"],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    // yaml (pulled in by render.ts) is CommonJS and calls require(); give the ESM bundle one.
    banner: {
      js: 'import { createRequire as __kitCreateRequire } from "node:module";\nconst require = __kitCreateRequire(import.meta.url);',
    },
    legalComments: "eof",
    logLevel: "warning",
  });
  return outFile;
}

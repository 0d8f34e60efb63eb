import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credentials } from "../../local-cloud/services/ecs/metadata.js";
import { type S3StandIn, startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import { COMMONJS_IN_ESM_BANNER } from "../../release/bundle.js";

// The SDK store as the production bundle carries it: bundled the way release/bundle.ts bundles the
// server (ESM for node20, with the module scope CommonJS dependencies expect), run by plain node from a folder
// with no node_modules, against the data plane. The SDK is CommonJS with optional browser and
// mini-program adapters; this is what proves none of that breaks on the server.

const BUCKET = "todo-api-dev-files-0a1b2c3d";
const creds: Credentials = { AccessKeyId: "AKLTbundle", SecretAccessKey: "secret-bundle", SessionToken: "token-b" };
let dir: string;
let s3: S3StandIn;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tos-store-bundle-"));
  s3 = await startS3StandIn({ bucket: BUCKET, region: "cn-beijing", creds: () => creds });
});
afterAll(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("TOS object store in the production bundle", () => {
  it("bundles the SDK and uploads, heads and deletes from a folder without node_modules", async () => {
    const outfile = join(dir, "store.mjs");
    await build({
      entryPoints: ["app/files/tos-object-store.ts"],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      banner: { js: COMMONJS_IN_ESM_BANNER },
      minifySyntax: true,
      minifyWhitespace: true,
      logLevel: "error",
    });
    const credentialsFile = join(dir, "credentials.json");
    writeFileSync(credentialsFile, JSON.stringify({ ...creds, ExpiredTime: new Date(Date.now() + 3600_000) }));
    const script = join(dir, "run.mjs");
    writeFileSync(
      script,
      `import { createTosObjectStore } from "./store.mjs";
const store = createTosObjectStore(${JSON.stringify({ bucket: BUCKET, region: "cn-beijing", endpoint: s3.url, keyPrefix: "files/", credentialsFile })});
const up = await store.presignUpload({ key: "b/1", contentType: "text/plain", size: 5, expiresInSeconds: 60 });
const put = await fetch(up.url, { method: "PUT", body: "hello", headers: up.headers });
const head = await store.head("b/1");
await store.delete("b/1");
console.log(JSON.stringify({ put: put.status, head, after: await store.head("b/1") }));`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: dir, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ put: 200, head: { size: 5 }, after: null });
    // What the SDK adds to the server bundle, for the record (measured, not asserted).
    console.log(`the store with the SDK bundles to ${Math.round(statSync(outfile).size / 1024)} KB`);
  });
});

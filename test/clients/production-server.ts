import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { buildServer } from "../../release/bundle.js";

/**
 * The production build (`dist/server.mjs` as `npm run build` makes it) with NODE_ENV=production on
 * a test database, migrated by its own migrate.mjs. Listens on an ephemeral port on 127.0.0.1.
 */
export async function startProductionServer(databaseUrl: string): Promise<{ url: string; stop: () => void }> {
  const outDir = mkdtempSync(join(tmpdir(), "todo-clients-bundle-"));
  symlinkSync(resolve("node_modules"), join(outDir, "node_modules"), "dir");
  const { server, migrate } = await buildServer({ outDir });
  const env = {
    PATH: process.env.PATH ?? "",
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    JWT_SECRET: "clients-test-secret-0123456789abcdef-0123456789",
    HOST: "127.0.0.1",
    PORT: "0",
    BCRYPT_COST: "4",
    // Each flow registers and logs in once; six flows from one address would pass the default 10.
    RATE_LIMIT_PER_MINUTE: "1000",
    LOG_LEVEL: "warn",
    // Attachments with the API's own store, so the flows upload and download for real.
    FILES_STORAGE: "local",
    DATA_DIR: join(outDir, "data"),
  };
  const migrated = spawnSync(process.execPath, [migrate, "up"], { env, encoding: "utf8" });
  if (migrated.status !== 0) throw new Error(`migrate up: ${migrated.stderr}`);
  const child = spawn(process.execPath, [server], {
    env: { ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout }).on("line", (text) => {
      try {
        const line = JSON.parse(text) as { msg?: string; url?: string };
        if (line.msg === "listening" && line.url) resolveUrl(line.url);
      } catch {
        // not a log line
      }
    });
    child.once("exit", (code) => reject(new Error(`server.mjs exited (${code}): ${stderr}`)));
  });
  return {
    url,
    stop: () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

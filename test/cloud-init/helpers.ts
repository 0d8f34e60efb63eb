import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createServer } from "node:net";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { renderCloudInit, SERVER_FILES_ARCHIVE } from "../../cloud-init/render.js";
import { readTar } from "../../contract/tar.js";

export const variants: Record<string, CloudInitOptions> = {
  "local, no domain": { environment: "dev", databaseMode: "local" },
  "rds, no domain": { environment: "prod", databaseMode: "rds" },
  "local, domain": {
    environment: "prod",
    databaseMode: "local",
    domain: "api.example.com",
    acmeEmail: "ops@example.com",
  },
  "rds, domain": {
    environment: "prod",
    databaseMode: "rds",
    domain: "api.example.com",
    acmeEmail: "ops@example.com",
  },
};

export interface DecodedFile {
  path: string;
  mode: number;
  content: string;
}

/** Parses rendered cloud-config text and unpacks the server files the way the server does. */
export function decodeCloudConfig(text: string): { config: Record<string, any>; files: Map<string, DecodedFile> } {
  const config = parse(text) as Record<string, any>;
  const entry = (config.write_files as any[]).find((f) => f.path === SERVER_FILES_ARCHIVE);
  if (!entry) throw new Error(`no ${SERVER_FILES_ARCHIVE} in write_files`);
  if (entry.encoding !== "gz+b64") throw new Error(`unexpected encoding ${entry.encoding}`);
  const tar = gunzipSync(Buffer.from(entry.content, "base64"));
  const files = new Map<string, DecodedFile>();
  for (const e of readTar(tar)) {
    files.set(`/${e.path}`, { path: `/${e.path}`, mode: e.mode, content: e.content?.toString("utf8") ?? "" });
  }
  return { config, files };
}

export function renderedFiles(options: CloudInitOptions): Map<string, DecodedFile> {
  return decodeCloudConfig(renderCloudInit(options)).files;
}

export function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

export function requireTool(tool: string, debianPackage: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
  if (r.status !== 0) {
    throw new Error(`${tool} is not installed; install it with: apt-get install -y ${debianPackage}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (typeof address !== "object" || !address) return reject(new Error("no port"));
      server.close(() => resolve(address.port));
    });
  });
}

/** Like run(), without blocking the event loop (for commands that talk to servers in this process). */
export function runAsync(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

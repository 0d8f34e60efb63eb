import { spawn, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createConnection, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { serverFiles } from "../../cloud-init/render.js";
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

/**
 * What a server script the tests copy into a temporary directory needs to find its shell library
 * (cloud-init/lib/common.sh), without copying its log lines into this machine's journal.
 */
export const SHELL_LIBRARY_ENV = {
  TODO_COMMON: fileURLToPath(new URL("../../cloud-init/lib/common.sh", import.meta.url)),
  TODO_LOG_JOURNAL: "0",
};

export interface DecodedFile {
  path: string;
  mode: number;
  content: string;
}

/** Parses rendered cloud-config text and decodes its write_files the way cloud-init does. */
export function decodeCloudConfig(text: string): { config: Record<string, any>; files: Map<string, DecodedFile> } {
  const config = parse(text) as Record<string, any>;
  const files = new Map<string, DecodedFile>();
  for (const entry of config.write_files as any[]) {
    const content =
      entry.encoding === "gz+b64"
        ? gunzipSync(Buffer.from(entry.content, "base64")).toString("utf8")
        : String(entry.content);
    files.set(entry.path, { path: entry.path, mode: parseInt(entry.permissions, 8), content });
  }
  return { config, files };
}

/** Every server file for these options, as the release's server kit installs them (cloud-init/kit.ts). */
export function renderedFiles(options: CloudInitOptions): Map<string, DecodedFile> {
  return new Map(
    serverFiles(options).map((f) => [f.path, { path: f.path, mode: parseInt(f.permissions, 8), content: f.content }]),
  );
}

export function run(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 60_000, ...options });
  // A script that refuses its arguments exits before reading the `input` it was given: the write
  // then fails with EPIPE, but the exit status and output are the result under test.
  if (r.error && !((r.error as NodeJS.ErrnoException).code === "EPIPE" && r.status !== null)) throw r.error;
  return { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
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
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; uid?: number; gid?: number } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { env, cwd, uid, gid } = options;
    const child = spawn(command, args, { env, cwd, uid, gid, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    // A command that exits without reading its input: the exit status is the result (as in run()).
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** The files of a previous-version cloud-config (one gzip'd tar in write_files), by absolute path. */
export function decodeCloudConfigArchive(text: string): Map<string, string> {
  const config = parse(text) as { write_files: { path: string; content: string }[] };
  const entry = config.write_files.find((f) => f.path === "/var/lib/todo-setup/files.tar")!;
  return new Map(
    readTar(gunzipSync(Buffer.from(entry.content, "base64"))).map((e) => [
      `/${e.path}`,
      e.content?.toString("utf8") ?? "",
    ]),
  );
}

/**
 * App instances for the scripts that start them and wait for /readyz (todo-restore): a separate
 * node process (the tests' spawnSync blocks this one) answering 200 on /readyz on every port.
 */
export async function readyInstances(count: number): Promise<{ ports: number[]; stop: () => void }> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const code = `const http = require("node:http");
for (const port of ${JSON.stringify(ports)}) http.createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(port, "127.0.0.1");`;
  const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
  // listening before the first request
  for (const port of ports) {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = createConnection({ port, host: "127.0.0.1" }, () => {
          socket.end();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { ports, stop: () => child.kill() };
}

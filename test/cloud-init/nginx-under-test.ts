import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { CloudInitOptions } from "../../cloud-init/options.js";
import { freePort, renderedFiles, run } from "./helpers.js";

/** The rendered Nginx configuration of a variant, run by a real nginx in a temporary prefix. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function send(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer; tls?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = {
      host: "127.0.0.1",
      port,
      path,
      method: init.method ?? "GET",
      headers: { ...init.headers, ...(init.body ? { "content-length": String(init.body.length) } : {}) },
      agent: false as const,
      ...(init.tls ? { servername: "api.example.com", rejectUnauthorized: false } : {}),
    };
    const req = (init.tls ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

export class NginxUnderTest {
  readonly dir = mkdtempSync(join(tmpdir(), "nginx-test-"));
  process?: ChildProcess;
  httpPort = 0;
  tlsPort = 0;
  appPorts: number[] = [];

  async prepare(options: Omit<CloudInitOptions, "appPorts">, site: "http" | "https") {
    this.httpPort = await freePort();
    this.tlsPort = await freePort();
    this.appPorts = [await freePort(), await freePort()];
    const d = this.dir;
    chmodSync(d, 0o755);
    for (const sub of [
      "conf.d",
      "snippets",
      "sites",
      "logs",
      "tmp",
      "cert",
      "run",
      "acme/.well-known/acme-challenge",
    ]) {
      mkdirSync(join(d, sub), { recursive: true, mode: 0o755 });
    }
    const files = renderedFiles({ ...options, appPorts: this.appPorts });
    const localize = (text: string) =>
      text
        .replaceAll("/var/log/nginx/", `${d}/logs/`)
        .replaceAll("/etc/nginx/snippets/", `${d}/snippets/`)
        .replaceAll("/var/www/letsencrypt", `${d}/acme`)
        .replaceAll("/run/todo-api/", `${d}/run/`)
        .replaceAll("/var/lib/todo-api-maintenance/", `${d}/maintenance/`)
        .replaceAll(`/etc/letsencrypt/live/${options.domain}/`, `${d}/cert/`)
        .replaceAll("listen 80 default_server;", `listen 127.0.0.1:${this.httpPort} default_server;`)
        .replaceAll(
          "listen 443 ssl http2 default_server;",
          `listen 127.0.0.1:${this.tlsPort} ssl http2 default_server;`,
        );
    const file = (path: string) => {
      const f = files.get(path);
      if (!f) throw new Error(`${path} not rendered`);
      return localize(f.content);
    };
    writeFileSync(join(d, "conf.d/todo-api.conf"), file("/etc/nginx/conf.d/todo-api.conf"));
    writeFileSync(join(d, "snippets/todo-api-proxy.conf"), file("/etc/nginx/snippets/todo-api-proxy.conf"));
    writeFileSync(join(d, "sites/todo-api.conf"), file(`/etc/nginx/sites-available/todo-api-${site}.conf`));
    writeFileSync(join(d, "acme/.well-known/acme-challenge/token123"), "token123.key");
    if (site === "https") {
      const r = run("openssl", [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=api.example.com",
        "-keyout",
        join(d, "cert/privkey.pem"),
        "-out",
        join(d, "cert/fullchain.pem"),
      ]);
      expect(r.status, r.stderr).toBe(0);
    }
    // The distribution's nginx.conf, reduced to what matters, including the site like sites-enabled.
    writeFileSync(
      join(d, "nginx.conf"),
      `pid ${d}/nginx.pid;
error_log ${d}/logs/error.log;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path ${d}/tmp/body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  access_log ${d}/logs/access.log;
  include ${d}/conf.d/*.conf;
  include ${d}/sites/*.conf;
}
`,
    );
  }

  test() {
    return run("nginx", ["-t", "-p", this.dir, "-c", join(this.dir, "nginx.conf")]);
  }

  async start() {
    this.process = spawn("nginx", ["-p", this.dir, "-c", join(this.dir, "nginx.conf"), "-g", "daemon off;"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    for (let i = 0; i < 100; i++) {
      try {
        await send(this.httpPort, "/.well-known/acme-challenge/token123");
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error("nginx did not start");
  }

  async stop() {
    if (this.process && this.process.exitCode === null) {
      const exited = new Promise((r) => this.process!.once("exit", r));
      this.process.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

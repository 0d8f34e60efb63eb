import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverFiles } from "../../cloud-init/render.js";
import type { CloudInitOptions } from "../../cloud-init/options.js";

/**
 * Nginx as the server runs it, in front of the bench's app instances: the kit's rendered files for
 * these options (the upstream of both instances, the proxy settings, the JSON access log, gzip),
 * with only their paths moved into a temporary prefix and the port made an ephemeral one on
 * 127.0.0.1. The main configuration is Debian's in what matters for throughput: `worker_processes
 * auto`, 768 connections per worker, sendfile and tcp_nopush.
 */
export interface NginxFront {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function renderFront(dir: string, options: CloudInitOptions, port: number): void {
  const app = "todo-api";
  for (const sub of ["conf.d", "snippets", "sites", "logs", "tmp", "run", "acme", "maintenance"])
    mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
  // Workers run as nobody: their buffers for large bodies go here.
  chmodSync(join(dir, "tmp"), 0o1777);
  const files = new Map(serverFiles(options).map((f) => [f.path, f.content]));
  const localize = (text: string) =>
    text
      .replaceAll("/var/log/nginx/", `${dir}/logs/`)
      .replaceAll("/etc/nginx/snippets/", `${dir}/snippets/`)
      .replaceAll("/var/www/letsencrypt", `${dir}/acme`)
      .replaceAll(`/run/${app}/`, `${dir}/run/`)
      .replaceAll(`/var/lib/${app}-maintenance/`, `${dir}/maintenance/`)
      .replaceAll("listen 80 default_server;", `listen 127.0.0.1:${port} default_server;`);
  const file = (path: string) => {
    const content = files.get(path);
    if (content === undefined) throw new Error(`the kit rendered no ${path}`);
    return localize(content);
  };
  writeFileSync(join(dir, "conf.d/app.conf"), file(`/etc/nginx/conf.d/${app}.conf`));
  writeFileSync(join(dir, `snippets/${app}-proxy.conf`), file(`/etc/nginx/snippets/${app}-proxy.conf`));
  writeFileSync(join(dir, "sites/app.conf"), file(`/etc/nginx/sites-available/${app}-http.conf`));
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log;
events { worker_connections 768; }
http {
  sendfile on;
  tcp_nopush on;
  types_hash_max_size 2048;
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  access_log ${dir}/logs/access.log;
  include ${dir}/conf.d/*.conf;
  include ${dir}/sites/*.conf;
}
`,
  );
}

/** Renders, checks (nginx -t) and starts Nginx; `wrap` puts it into the machine's cgroups. */
export async function startNginxFront(
  options: CloudInitOptions,
  port: number,
  wrap: (command: string, args: string[]) => { command: string; args: string[] },
): Promise<NginxFront> {
  const dir = mkdtempSync(join(tmpdir(), "bench-nginx-"));
  chmodSync(dir, 0o755);
  renderFront(dir, options, port);
  const args = ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"];
  const line = wrap("nginx", args);
  const child = spawn(line.command, line.args, { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGQUIT");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${url}/healthz`);
      return { url, process: child, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(`nginx did not start on ${url} (its configuration was rendered in ${dir})`);
}

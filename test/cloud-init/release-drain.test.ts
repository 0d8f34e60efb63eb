import { createHash } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTar, gzipDeterministic } from "../../contract/tar.js";
import { renderedFiles, runAsync } from "./helpers.js";
import { releaseEnv } from "./release-stand-in.js";
import { requireTool } from "../support/tools.js";
import { NginxUnderTest } from "./nginx-under-test.js";

const nginxTool = requireTool("nginx");

/**
 * `todo-release` behind the real rendered Nginx, with writes in flight. The stand-in app is as
 * hostile as a process can be on SIGTERM: it exits at once, dropping every connection, in flight
 * or idle. Nginx never retries a POST or PATCH it already sent, so any request that reaches an
 * instance being restarted fails: only draining the instance out of Nginx first (the flag file
 * the rendered proxy configuration checks on every request) keeps every request whole.
 */
const dir = mkdtempSync(join(tmpdir(), "todo-drain-"));
const state = join(dir, "state");
const root = join(dir, "opt");
const nginx = new NginxUnderTest();
let releaseCmd = "";

const STANDIN_SYSTEMCTL = `#!/usr/bin/env bash
# Stand-in for systemctl: todo-api@PORT units are node processes started from current/.
set -u
action=$1; unit=\${2:-}; port=\${unit#*@}; pidfile=$STANDIN_STATE/$port.pid
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
stop() {
  if alive; then pid=$(cat "$pidfile"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done; fi
  rm -f "$pidfile"
}
start() {
  (cd "$(readlink -f "$TODO_ROOT/current")" && HOST=127.0.0.1 PORT=$port exec "$TODO_NODE" server.mjs >>"$STANDIN_STATE/$port.out" 2>&1 9>&-) &
  echo $! >"$pidfile"
}
case $action in
restart) echo "restart $unit $(ls "$TODO_DRAIN_DIR")" >>"$STANDIN_STATE/systemctl.log"; stop; start ;;
stop) stop ;;
enable) ;;
is-active) alive && echo active ;;
show) echo 0 ;;
*) echo "unsupported: $*" >&2; exit 1 ;;
esac
`;

function makeRelease(name: string): string {
  const files: Record<string, string> = {
    "server.mjs": `import { createServer } from "node:http";
const port = Number(process.env.PORT);
createServer((req, res) => {
  req.resume();
  req.on("end", () => setTimeout(() => {
    res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify({ port, release: ${JSON.stringify(name)} }));
  }, 25));
}).listen(port, process.env.HOST);
// as hostile as it gets: every connection, in flight or idle, is dropped at once
process.on("SIGTERM", () => process.exit(0));
`,
    "migrate.mjs": "",
    "package.json": JSON.stringify({ name: "todo-api", private: true, type: "module", description: name }),
  };
  const hash = createHash("sha256").update(JSON.stringify(files)).digest("hex").slice(0, 12);
  files.RELEASE = `${hash}\n`;
  const tar = createTar(
    Object.keys(files)
      .sort()
      .map((path) => ({ path, type: "file" as const, mode: 0o644, content: Buffer.from(files[path]!) })),
  );
  const path = join(dir, `todo-api-${hash}.tar.gz`);
  writeFileSync(path, gzipDeterministic(tar));
  return path;
}

function todoRelease(args: string[], extraEnv: Record<string, string> = {}) {
  return runAsync("bash", [releaseCmd, ...args], {
    env: {
      ...releaseEnv({ dir, state, root }),
      TODO_READY_TIMEOUT: "10",
      TODO_NO_WAIT: "1",
      TODO_DRAIN_DIR: join(nginx.dir, "run"),
      TODO_NODE_DIR: join(dir, "no-node"),
      TODO_SETUP_DONE: join(dir, "setup-done"),
      ...extraEnv,
    },
  });
}

/**
 * Clients writing through Nginx: POST, PATCH, DELETE and GET, kept-alive and not, with a think
 * time. Every connection error and every non-2xx answer is a failure; nothing is sent twice.
 */
function traffic(port: number) {
  let stopping = false;
  const report = { requests: 0, failures: [] as string[] };
  const methods = ["POST", "PATCH", "DELETE", "GET"];
  const send = (method: string, n: number, agent: Agent | false) =>
    new Promise<string>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method,
          path: `/api/v1/todos/${n}`,
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode! < 300 ? "ok" : `${method} HTTP ${res.statusCode}`));
        },
      );
      req.on("error", (err) => resolve(`${method} ${err.message}`));
      req.end(method === "GET" || method === "DELETE" ? undefined : '{"title":"x"}');
    });
  const client = async (index: number) => {
    const agent = index % 2 === 0 ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    for (let n = index; !stopping; n++) {
      const method = methods[n % methods.length]!;
      const outcome = await send(method, n, agent);
      report.requests += 1;
      if (outcome !== "ok") report.failures.push(outcome);
      // a mobile client's think time between requests (a kept-alive connection is idle meanwhile)
      await new Promise((r) => setTimeout(r, 2 + ((n * 7) % 13)));
    }
    if (agent) agent.destroy();
  };
  const running = Promise.all(Array.from({ length: 6 }, (_, i) => client(i)));
  return {
    async stop() {
      stopping = true;
      await running;
      return report;
    },
  };
}

beforeAll(async () => {
  mkdirSync(state, { recursive: true });
  await nginx.prepare({ environment: "dev", databaseMode: "local" }, "http");
  const rendered = renderedFiles({ environment: "dev", databaseMode: "local", appPorts: nginx.appPorts });
  releaseCmd = join(dir, "todo-release");
  writeFileSync(releaseCmd, rendered.get("/usr/local/sbin/todo-release")!.content);
  writeFileSync(join(dir, "host.conf"), rendered.get("/etc/todo-host.conf")!.content);
  // todo-release switches only on a host whose setup is done: this one is.
  writeFileSync(join(dir, "setup-done"), "setup done (test)\n");
  writeFileSync(join(dir, "env"), "");
  writeFileSync(join(dir, "systemctl"), STANDIN_SYSTEMCTL);
  for (const f of ["systemctl", "todo-release"]) chmodSync(join(dir, f), 0o755);
  await nginx.start();
  const first = await todoRelease(["deploy", makeRelease("A")]);
  expect(first.status, first.stderr).toBe(0);
});

afterAll(async () => {
  await runAsync(join(dir, "systemctl"), ["stop", `todo-api@${nginx.appPorts[0]}`], {
    env: { ...process.env, STANDIN_STATE: state },
  });
  await runAsync(join(dir, "systemctl"), ["stop", `todo-api@${nginx.appPorts[1]}`], {
    env: { ...process.env, STANDIN_STATE: state },
  });
  await nginx.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(nginxTool.missing)("todo-release drains each instance out of Nginx before restarting it", () => {
  it("deploy, restart and rollback under writes: not one failed request", async () => {
    const load = traffic(nginx.httpPort);
    rmSync(join(state, "systemctl.log"), { force: true });
    const results = [
      await todoRelease(["deploy", makeRelease("B")]),
      await todoRelease(["restart"]),
      await todoRelease(["rollback"]),
    ];
    const report = await load.stop();
    for (const r of results) expect(r.status, r.stderr).toBe(0);
    expect(results[0]!.stderr).toContain(`draining todo-api@${nginx.appPorts[0]} out of Nginx`);
    expect(report.requests).toBeGreaterThan(100);
    expect(report.failures).toEqual([]);
    // every restart happened while that instance (and only it) was drained, and none is left drained
    expect(readFileSync(join(state, "systemctl.log"), "utf8").trim().split("\n")).toEqual(
      Array.from({ length: 3 }, () => nginx.appPorts.map((p) => `restart todo-api@${p} drain-${p}`)).flat(),
    );
    expect(readdirSync(join(nginx.dir, "run"))).toEqual([]);
  }, 120_000);

  it("without the drain (flags where Nginx does not look) the same restarts fail writes: the test can fail", async () => {
    const load = traffic(nginx.httpPort);
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push(await todoRelease(["restart"], { TODO_DRAIN_DIR: join(dir, "elsewhere") }));
    const report = await load.stop();
    for (const r of results) expect(r.status, r.stderr).toBe(0);
    expect(report.failures.length).toBeGreaterThan(0);
    // both instances were marked failed (max_fails) in turn: Nginx answered 503 meanwhile
    expect(report.failures.some((f) => /^(POST|PATCH) HTTP 503$/.test(f))).toBe(true);
  }, 120_000);

  it("a deploy removes the Node.js directories /opt/node no longer points to", async () => {
    const opt = join(dir, "node-opt");
    for (const v of ["node-v24.1.0-linux-x64", "node-v24.2.0-linux-x64", "node-v24.3.0-linux-x64"])
      mkdirSync(join(opt, v, "bin"), { recursive: true });
    symlinkSync(join(opt, "node-v24.2.0-linux-x64"), join(opt, "node"));
    const r = await todoRelease(["deploy", makeRelease("C")], { TODO_NODE_DIR: join(opt, "node") });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(opt).sort()).toEqual(["node", "node-v24.2.0-linux-x64"]);
  }, 60_000);
});

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderedFiles, run } from "./helpers.js";
import { requireTools } from "../support/tools.js";
import { NginxUnderTest, send } from "./nginx-under-test.js";

const nginxAndOpenssl = requireTools("nginx", "openssl");

/** Stand-in app instance: echoes what Nginx forwarded, like the API it sends its own headers. */
function upstream(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.setHeader("x-content-type-options", "nosniff");
      const echo = {
        port,
        url: req.url,
        xff: req.headers["x-forwarded-for"],
        proto: req.headers["x-forwarded-proto"],
        requestId: req.headers["x-request-id"],
        host: req.headers.host,
        connection: req.headers.connection,
        bodyBytes: Buffer.concat(chunks).length,
        padding: req.url === "/big" ? "x".repeat(5000) : undefined,
      };
      res.end(JSON.stringify(echo));
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

describe.skipIf(nginxAndOpenssl.missing)("Nginx site without a domain (plain HTTP)", () => {
  const nginx = new NginxUnderTest();
  const apps: Server[] = [];

  beforeAll(async () => {
    await nginx.prepare({ environment: "dev", databaseMode: "local" }, "http");
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  });

  it("passes nginx -t", () => {
    const r = nginx.test();
    expect(r.stderr).toContain("test is successful");
    expect(r.status).toBe(0);
  });

  it("proxies to the app instances with the client address, scheme and a request id", async () => {
    for (const port of nginx.appPorts) apps.push(await upstream(port));
    await nginx.start();
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const r = await send(nginx.httpPort, "/api/v1/todos?limit=1", { headers: { "x-forwarded-for": "6.6.6.6" } });
      expect(r.status).toBe(200);
      const echo = JSON.parse(r.body.toString());
      seen.add(echo.port);
      // Nginx appends the peer it saw; the app trusts only the hops in TRUSTED_PROXIES, reading
      // right to left, so the client-written "6.6.6.6" never becomes its address
      // (test/app/rate-limit.test.ts covers that side).
      expect(echo.xff).toBe("6.6.6.6, 127.0.0.1");
      expect(echo.proto).toBe("http");
      expect(echo.requestId).toMatch(/^[0-9a-f]{32}$/);
      expect(echo.connection).toBeUndefined(); // keepalive to the upstream, no "close"
      expect(r.headers["x-content-type-options"]).toBe("nosniff"); // once, not duplicated
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["referrer-policy"]).toBe("no-referrer");
      expect(r.headers["strict-transport-security"]).toBeUndefined();
      expect(r.headers.server).toBe("nginx");
    }
    expect([...seen].sort()).toEqual([...nginx.appPorts].sort());
    const withId = await send(nginx.httpPort, "/x", { headers: { "x-request-id": "client-chosen-id" } });
    expect(JSON.parse(withId.body.toString()).requestId).toBe("client-chosen-id");
  });

  it("gzips JSON", async () => {
    const r = await send(nginx.httpPort, "/big", { headers: { "accept-encoding": "gzip" } });
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(r.body).toString()).padding).toHaveLength(5000);
  });

  it("accepts 64 KiB bodies and refuses larger ones with the API's JSON error", async () => {
    const ok = await send(nginx.httpPort, "/api/v1/todos", { method: "POST", body: Buffer.alloc(64 * 1024, 97) });
    expect(ok.status).toBe(200);
    const big = await send(nginx.httpPort, "/api/v1/todos", { method: "POST", body: Buffer.alloc(64 * 1024 + 1, 97) });
    expect(big.status).toBe(413);
    expect(big.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(big.body.toString()).error.code).toBe("payload_too_large");
  });

  it("serves ACME challenges from the webroot", async () => {
    const r = await send(nginx.httpPort, "/.well-known/acme-challenge/token123");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("token123.key");
  });

  it("maintenance mode answers every API request with 503 JSON, lets /readyz through, and ends without a reload", async () => {
    mkdirSync(join(nginx.dir, "maintenance"), { recursive: true });
    writeFileSync(join(nginx.dir, "maintenance/on"), "");
    try {
      for (const [method, path] of [
        ["GET", "/api/v1/todos"],
        ["POST", "/api/v1/todos"],
      ] as const) {
        const r = await send(nginx.httpPort, path, { method, body: method === "POST" ? Buffer.from("{}") : undefined });
        expect(r.status).toBe(503);
        expect(r.headers["content-type"]).toBe("application/json");
        expect(r.headers["retry-after"]).toBe("300");
        expect(JSON.parse(r.body.toString()).error).toMatchObject({ code: "unavailable" });
        expect(JSON.parse(r.body.toString()).error.message).toContain("maintenance");
      }
      expect((await send(nginx.httpPort, "/readyz")).status).toBe(200);
    } finally {
      rmSync(join(nginx.dir, "maintenance/on"));
    }
    expect((await send(nginx.httpPort, "/api/v1/todos")).status).toBe(200);
  });

  it("keeps answering through a rolling restart, and answers 503 JSON with every instance down", async () => {
    const [first, second] = nginx.appPorts as [number, number];
    await new Promise((r) => apps[0]!.close(r));
    for (let i = 0; i < 4; i++) {
      const r = await send(nginx.httpPort, "/api/v1/todos", { method: "POST", body: Buffer.from("{}") });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString()).port).toBe(second);
    }
    // the first instance is back; the second goes down right away (as todo-release does it):
    // Nginx must not still hold the first one as failed
    apps[0] = await upstream(first);
    await new Promise((r) => apps[1]!.close(r));
    for (let i = 0; i < 4; i++) {
      const r = await send(nginx.httpPort, "/api/v1/todos?limit=1");
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString()).port).toBe(first);
    }
    await new Promise((r) => apps[0]!.close(r));
    const r = await send(nginx.httpPort, "/api/v1/todos");
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error.code).toBe("unavailable");
    expect(r.headers["retry-after"]).toBe("5");
  });

  it("writes a JSON access log line per request", async () => {
    const lines = readFileSync(join(nginx.dir, "logs/todo-api.access.log"), "utf8").trim().split("\n");
    const entry = JSON.parse(lines.at(-1)!);
    expect(entry).toMatchObject({ method: "GET", uri: "/api/v1/todos", status: 503 });
    expect(entry.request_id).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe.skipIf(nginxAndOpenssl.missing)("Nginx site with a domain (HTTPS after the certificate)", () => {
  const nginx = new NginxUnderTest();
  const apps: Server[] = [];
  const options = {
    environment: "prod",
    databaseMode: "rds",
    domain: "api.example.com",
    acmeEmail: "ops@example.com",
  } as const;

  beforeAll(async () => {
    await nginx.prepare(options, "https");
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all(apps.map((s) => new Promise((r) => s.close(r))));
  });

  it("passes nginx -t with a certificate in place", () => {
    const r = nginx.test();
    expect(r.stderr).toContain("test is successful");
    expect(r.status).toBe(0);
  });

  it("the HTTP-only site of the same variant passes nginx -t too (before the certificate)", async () => {
    const before = new NginxUnderTest();
    try {
      await before.prepare(options, "http");
      expect(before.test().status).toBe(0);
    } finally {
      await before.stop();
    }
  });

  it("redirects HTTP to HTTPS but still answers ACME challenges on HTTP", async () => {
    for (const port of nginx.appPorts) apps.push(await upstream(port));
    await nginx.start();
    const r = await send(nginx.httpPort, "/api/v1/todos?x=1");
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe("https://api.example.com/api/v1/todos?x=1");
    const acme = await send(nginx.httpPort, "/.well-known/acme-challenge/token123");
    expect(acme.status).toBe(200);
  });

  it("proxies HTTPS with HSTS and X-Forwarded-Proto https", async () => {
    const r = await send(nginx.tlsPort, "/api/v1/todos", { tls: true });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).proto).toBe("https");
    expect(r.headers["strict-transport-security"]).toBe("max-age=31536000");
  });
});

describe.skipIf(nginxAndOpenssl.missing)("Nginx site inside the distribution's own nginx.conf", () => {
  const main = "/etc/nginx/nginx.conf";
  const dir = mkdtempSync(join(tmpdir(), "nginx-distro-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of /etc/nginx with our files installed as todo-setup installs them. */
  function install(site: "http" | "https") {
    const etc = join(dir, site);
    cpSync("/etc/nginx", etc, { recursive: true, dereference: true });
    rmSync(join(etc, "sites-enabled"), { recursive: true, force: true });
    mkdirSync(join(etc, "sites-enabled"));
    mkdirSync(join(etc, "logs"));
    const files = renderedFiles({
      environment: "prod",
      databaseMode: "local",
      domain: "api.example.com",
      acmeEmail: "ops@example.com",
    });
    const local = (text: string) =>
      text
        .replaceAll("/etc/nginx/", `${etc}/`)
        .replaceAll("/var/log/nginx/", `${etc}/logs/`)
        .replaceAll("/etc/letsencrypt/live/api.example.com/", `${etc}/cert/`);
    for (const [path, file] of files) {
      if (!path.startsWith("/etc/nginx/")) continue;
      const target = join(etc, path.slice("/etc/nginx/".length));
      mkdirSync(join(target, ".."), { recursive: true });
      writeFileSync(target, local(file.content));
    }
    cpSync(join(etc, `sites-available/todo-api-${site}.conf`), join(etc, "sites-enabled/todo-api.conf"));
    if (site === "https") {
      mkdirSync(join(etc, "cert"));
      run("openssl", [
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
        join(etc, "cert/privkey.pem"),
        "-out",
        join(etc, "cert/fullchain.pem"),
      ]);
    }
    writeFileSync(
      join(etc, "nginx.conf"),
      local(readFileSync(main, "utf8")).replaceAll("/var/log/nginx/", `${etc}/logs/`),
    );
    return etc;
  }

  it.each(["http", "https"] as const)("the %s site passes nginx -t with the packaged main config", (site) => {
    const etc = install(site);
    // the packaged prefix, where load_module finds the distribution's modules
    const r = run("nginx", ["-t", "-p", "/usr/share/nginx/", "-c", join(etc, "nginx.conf")]);
    expect(r.stderr).toContain("test is successful");
    expect(r.stderr).not.toMatch(/\[(warn|emerg)\]/);
    expect(r.status).toBe(0);
  });
});

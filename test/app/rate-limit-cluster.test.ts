import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../release/bundle.js";
import { createTestDatabase } from "../support/database.js";
import { client } from "../../harness/support/app-harness.js";

/**
 * The cluster topology as the app sees it: two separate OS processes (`node server.mjs`, as on
 * two servers), each with its own connection pool, on ONE PostgreSQL database, behind a chain of
 * proxies like CLB → Nginx → app. Both start at the same time and migrate on start (the advisory
 * lock serializes that), and the login rate limit is shared: hits on either process count
 * against one budget per client.
 */
let outDir: string;
let server: string;
let dbUrl: string;
let drop: () => Promise<void>;
const children: ChildProcess[] = [];

/** Like the cluster's servers: the local Nginx and the load balancer's subnet are trusted. */
const LB_SUBNET = "172.16.3.0/24";
const LB_ADDRESS = "172.16.3.10";

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "todo-api-cluster-"));
  symlinkSync(resolve("node_modules"), join(outDir, "node_modules"), "dir");
  ({ server } = await buildServer({ outDir }));
  const db = await createTestDatabase();
  dbUrl = db.url;
  drop = db.drop;
});

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((done) => {
          if (c.exitCode !== null || c.signalCode !== null) return done();
          c.once("exit", () => done());
          c.kill("SIGTERM");
          setTimeout(() => c.kill("SIGKILL"), 5_000).unref();
        }),
    ),
  );
  await drop?.();
  rmSync(outDir, { recursive: true, force: true });
});

/** One app process with its own pool; resolves once it listens (after its migrations). */
function startProcess(): Promise<{ url: string; pid: number }> {
  const child = spawn(process.execPath, [server], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      DATABASE_URL: dbUrl,
      DATABASE_POOL_SIZE: "2",
      JWT_SECRET: "cluster-test-secret-0123456789abcdef-0123456789",
      HOST: "127.0.0.1",
      PORT: "0",
      BCRYPT_COST: "4",
      RATE_LIMIT_PER_MINUTE: "3",
      TRUSTED_PROXIES: `127.0.0.1,${LB_SUBNET}`,
      MIGRATE_ON_START: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolveStart, reject) => {
    createInterface({ input: child.stdout! }).on("line", (text) => {
      const line = JSON.parse(text) as { msg?: string; url?: string };
      if (line.msg === "listening") resolveStart({ url: String(line.url), pid: child.pid! });
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening; stderr: ${stderr}`)));
  });
}

/** The fixed window is a wall-clock minute here (separate processes): never straddle its end. */
async function awayFromMinuteBoundary(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
}

describe("rate limits across app processes", () => {
  it("two processes with separate pools on one database share one limit per client", async () => {
    const [a, b] = await Promise.all([startProcess(), startProcess()]);
    expect(a.pid).not.toBe(b.pid);
    const apiA = client(a.url);
    const apiB = client(b.url);
    // What the app receives from Nginx: "<client as the CLB saw it>, <CLB address>".
    const via = (clientIp: string) => ({ "x-forwarded-for": `${clientIp}, ${LB_ADDRESS}` });
    const login = (api: typeof apiA, clientIp: string) =>
      api.post("/api/v1/auth/token", {
        form: { username: "nobody", password: "wrong-password" },
        headers: via(clientIp),
      });

    await awayFromMinuteBoundary();
    expect((await login(apiA, "203.0.113.7")).status).toBe(401);
    expect((await login(apiB, "203.0.113.7")).status).toBe(401);
    expect((await login(apiA, "203.0.113.7")).status).toBe(401);
    // The 4th attempt of this client is refused by whichever process gets it.
    const refusedB = await login(apiB, "203.0.113.7");
    expect(refusedB.status).toBe(429);
    expect(Number(refusedB.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await login(apiA, "203.0.113.7")).status).toBe(429);
    // Another client behind the same load balancer has its own budget.
    expect((await login(apiB, "203.0.113.8")).status).toBe(401);
    // Both processes are healthy (their migrations did not collide).
    expect((await apiA.get("/readyz")).status).toBe(200);
    expect((await apiB.get("/readyz")).status).toBe(200);
  });
});

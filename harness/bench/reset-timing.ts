/**
 * `npx tsx harness/bench/reset-timing.ts [samples]`: can a client tell whether an address is
 * registered from how long its NEXT request takes after a password-reset request? For each sample
 * (registered and unregistered addresses in random order): POST /auth/password-reset, then at once
 * GET /readyz (a database round trip), timing the second. Run twice on one server build: with the
 * mail work right after the response (MAIL_QUEUE_INTERVAL_MS=0, what earlier releases did) and on
 * the mail queue's clock (the default). Prints the medians and how often one sample classifies
 * right by a threshold at the midpoint of the two medians (50% = no information). Measured, never
 * asserted: on a shared machine the figures move.
 */
import { performance } from "node:perf_hooks";
import { client, newAccount, startTestApp, uniqueName } from "../support/app-harness.js";
import pg from "pg";
import { startPgCluster } from "../support/pg-cluster.js";
import { createBenchDatabase } from "./api-process.js";
import { startSmtpSink } from "../support/smtp-sink.js";

const samples = Number(process.argv[2] ?? 200);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** A fresh database on the throw-away cluster, dropped afterwards. */
async function createDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = await createBenchDatabase(adminUrl);
  const name = new URL(url).pathname.slice(1);
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function measure(adminUrl: string, smtpUrl: string, intervalMs: number) {
  const db = await createDatabase(adminUrl);
  const app = await startTestApp({
    databaseUrl: db.url,
    env: { SMTP_URL: smtpUrl, MAIL_FROM: "no-reply@todo.example", RATE_LIMIT_PER_MINUTE: "100000" },
    mailQueueIntervalMs: intervalMs,
  });
  try {
    const api = client(app.url);
    const acct = await newAccount(api);
    const times: Record<"registered" | "unregistered", number[]> = { registered: [], unregistered: [] };
    for (let i = 0; i < 20; i++) await api.get("/readyz"); // warm up
    for (let i = 0; i < 2 * samples; i++) {
      const kind = Math.random() < 0.5 ? "registered" : "unregistered";
      const email = kind === "registered" ? acct.email : `${uniqueName("n")}@example.com`;
      await api.post("/api/v1/auth/password-reset", { json: { email } });
      const t0 = performance.now();
      await api.get("/readyz");
      times[kind].push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20)); // let scheduled work settle between samples
    }
    const mr = median(times.registered);
    const mu = median(times.unregistered);
    const threshold = (mr + mu) / 2;
    const slowerIsRegistered = mr > mu;
    const right =
      times.registered.filter((t) => t > threshold === slowerIsRegistered).length +
      times.unregistered.filter((t) => t > threshold !== slowerIsRegistered).length;
    return {
      registered: mr,
      unregistered: mu,
      classified: right / (times.registered.length + times.unregistered.length),
    };
  } finally {
    await app.close();
    await db.drop();
  }
}

const cluster = await startPgCluster();
const smtp = await startSmtpSink();
try {
  for (const [label, interval] of [
    ["right after the response", 0],
    ["on the mail queue (250 ms tick)", 250],
  ] as const) {
    const r = await measure(cluster.url, smtp.url, interval);
    console.log(
      `${label}: next-request median ${r.registered.toFixed(2)} ms registered vs ${r.unregistered.toFixed(2)} ms unregistered; one sample classifies ${(100 * r.classified).toFixed(0)}% right`,
    );
  }
} finally {
  await smtp.close();
  await cluster.destroy();
}

import { createServer, type IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { listen } from "../../local-cloud/listen.js";
import { runAsync } from "./helpers.js";

/**
 * What the seed's suite puts around the stand-in: the new servers' /readyz (one local HTTP server
 * standing in for every held instance, by private address), and a relay in front of the stand-in
 * that records how each call was signed and can refuse actions as an IAM policy without them
 * would (the stand-in itself accepts any credentials).
 */

const seedScript = fileURLToPath(new URL("../../cloud-init/lib/seed.mjs", import.meta.url));

export interface ReadyServers {
  url: string;
  /** Private addresses whose /readyz answers 200 (the others: 503, as the kit's Nginx before the app). */
  ready: Set<string>;
  /** Addresses asked for, in order. */
  asked: string[];
  close(): Promise<void>;
}

export async function startReadyServers(): Promise<ReadyServers> {
  const ready = new Set<string>();
  const asked: string[] = [];
  const server = createServer((req, res) => {
    const m = /^\/([^/]+)\/readyz$/.exec(req.url ?? "");
    if (!m) return res.writeHead(404).end();
    asked.push(m[1]!);
    res.writeHead(ready.has(m[1]!) ? 200 : 503, { "content-type": "text/plain" }).end(ready.has(m[1]!) ? "ok" : "");
  });
  const url = await listen(server);
  return { url, ready, asked, close: () => new Promise((r) => server.close(() => r())) };
}

export interface SignedCall {
  action: string;
  authorization: string;
  securityToken: string | undefined;
}

export interface Relay {
  url: string;
  calls: SignedCall[];
  /** Actions answered 403 AccessDenied without reaching the stand-in. */
  deny: Set<string>;
  /** Actions answered 200 with this Result without reaching the stand-in. */
  answer: Map<string, unknown>;
  close(): Promise<void>;
}

export async function startRelay(target: () => string): Promise<Relay> {
  const calls: SignedCall[] = [];
  const deny = new Set<string>();
  const answer = new Map<string, unknown>();
  const server = createServer(async (req: IncomingMessage, res) => {
    const action = new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "";
    calls.push({
      action,
      authorization: String(req.headers.authorization ?? ""),
      securityToken: req.headers["x-security-token"] as string | undefined,
    });
    if (deny.has(action)) {
      const error = { Code: "AccessDenied", Message: `User is not authorized to perform: ${action}` };
      return res
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify({ ResponseMetadata: { Action: action, Error: error } }));
    }
    if (answer.has(action))
      return res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ ResponseMetadata: { Action: action }, Result: answer.get(action) }));
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "connection") as [string, string][],
    );
    const forwarded = await fetch(`${target()}${req.url}`, { headers });
    res.writeHead(forwarded.status, { "content-type": "application/json" }).end(await forwarded.text());
  });
  const url = await listen(server);
  return { url, calls, deny, answer, close: () => new Promise((r) => server.close(() => r())) };
}

export interface SeedRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node seed.mjs`, as the timer's unit would run it. */
export function runSeed(env: NodeJS.ProcessEnv): Promise<SeedRun> {
  return runAsync(process.execPath, [seedScript], { env: { PATH: process.env.PATH, ...env } });
}

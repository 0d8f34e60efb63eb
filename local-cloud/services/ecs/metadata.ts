/**
 * The ECS metadata service a server asks for its instance role's temporary credentials, on
 * 127.0.0.1 (or the rehearsal's end of its container network). It can be told to fail the next
 * requests, to exercise the client's retries.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { listen } from "../../listen.js";

/** An instance role's temporary credentials, as the metadata service hands them out. */
export interface Credentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
}

/**
 * How the metadata service treats tokens ("IMDSv2", protocol of Volcengine's Go SDK,
 * volcengine/credentials/ecs_role_provider.go):
 * - "absent": no token endpoint (404), credentials for the plain request;
 * - "optional": GET /latest/api/token hands out tokens; credentials with or without one, but a
 *   token that is sent must be valid;
 * - "enforced": credentials only with a valid token (401 otherwise).
 */
export type TokenMode = "absent" | "optional" | "enforced";

export interface MetadataStandIn {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  /** Every exchange: method, path, whether a token header came along, status answered. */
  log: { method: string; path: string; withToken: boolean; status: number }[];
  failNext(n: number): void;
  close(): Promise<void>;
}

const TOKEN_TTL_HEADER = "x-volc-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER = "x-volc-ecs-metadata-token";

/**
 * ECS metadata service: role credentials at /volcstack/latest/iam/security_credentials/<role>.
 * `role` is the role the instance holds; a function when that can change (an instance that gets
 * its role after boot, AssociateInstancesIamRole): undefined while it holds none, and then every
 * role's path answers 404, as on an instance without a role. `creds` gets the role asked for.
 */
export async function startMetadataStandIn(
  role: string | (() => string | undefined),
  creds: (role: string) => Credentials,
  opts: { tokens?: TokenMode; host?: string } = {},
): Promise<MetadataStandIn> {
  const mode = opts.tokens ?? "absent";
  const requests: string[] = [];
  const log: MetadataStandIn["log"] = [];
  const tokens = new Map<string, number>(); // token -> expiry (ms)
  let fail = 0;
  const server = createServer((req, res) => {
    const path = req.url ?? "";
    const sent = req.headers[TOKEN_HEADER];
    const answer = (status: number, body: string, type = "text/plain") => {
      log.push({ method: req.method ?? "", path, withToken: sent !== undefined, status });
      res.writeHead(status, { "content-type": type }).end(body);
    };
    requests.push(path);
    if (fail > 0) {
      fail--;
      return answer(500, "busy");
    }
    if (path === "/latest/api/token" && mode !== "absent") {
      if (req.method !== "GET") return answer(405, "method not allowed");
      const ttl = Number(req.headers[TOKEN_TTL_HEADER]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return answer(400, "missing or invalid token TTL");
      const token = randomBytes(24).toString("base64url");
      tokens.set(token, Date.now() + ttl * 1000);
      return answer(200, token);
    }
    const held = typeof role === "function" ? role() : role;
    if (req.method === "GET" && held !== undefined && path === `/volcstack/latest/iam/security_credentials/${held}`) {
      const valid = typeof sent === "string" && (tokens.get(sent) ?? 0) > Date.now();
      if (sent !== undefined && !valid) return answer(401, "invalid token");
      if (mode === "enforced" && !valid) return answer(401, "token required");
      const c = creds(held);
      return answer(
        200,
        JSON.stringify({
          ...c,
          ExpiredTime: new Date(Date.now() + 3600_000).toISOString(),
          CurrentTime: new Date().toISOString(),
        }),
        "application/json",
      );
    }
    return answer(404, "not found");
  });
  const url = await listen(server, opts.host);
  return {
    url,
    requests,
    log,
    failNext: (n) => {
      fail = n;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

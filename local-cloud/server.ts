import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { CallLog } from "./call-log.js";
import { ApiError, unknownAction } from "./errors.js";
import { unflatten, type Params } from "./params.js";
import { checkSignature } from "./signature.js";
import { Store, type StoreOptions } from "./store.js";
import { SERVICES } from "./services/index.js";
import type { InstanceBooter } from "./booter.js";
import type { NetworkBooter } from "./network-booter.js";
import { isTosRequest, serveTos } from "./services/tos/protocol.js";

export interface LocalCloudOptions extends StoreOptions {
  port?: number;
  /** JSON-lines file every call is appended to. */
  logFile?: string;
  /** Boots RunInstances as real servers (the scenario's container booter); default: records only. */
  booter?: InstanceBooter;
  /** Builds NAT egress, CLB forwarding and RDS's PostgreSQL (the scenario's VPC booter); default: records only. */
  network?: NetworkBooter;
}

export interface LocalCloud {
  server: Server;
  store: Store;
  log: CallLog;
  url: string;
  close(): Promise<void>;
}

/**
 * The stand-in. It answers requests sent to it directly (`VOLCENGINE_ENDPOINT`) and requests sent
 * through it as an HTTP proxy (`VOLCENGINE_PROXY_URL` with `VOLCENGINE_DISABLE_SSL=true`), which is
 * how the real provider reaches TOS's per-bucket host names. Listens on 127.0.0.1 only.
 */
export async function startLocalCloud(opts: LocalCloudOptions = {}): Promise<LocalCloud> {
  const store = new Store(opts);
  const log = new CallLog(opts.logFile);
  // The provider sends RunInstances as a GET, UserData (up to 16 KB, base64) in the query string.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => respond(req, res, Buffer.concat(chunks), store, log, opts.booter, opts.network));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    store,
    log,
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  store: Store,
  log: CallLog,
  booter?: InstanceBooter,
  network?: NetworkBooter,
): void {
  const requestId = randomUUID().replace(/-/g, "").toUpperCase();
  const time = new Date(store.clock()).toISOString();
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  if (url.pathname.startsWith("/_local/")) return local(url, res, store, log);
  if (isTosRequest(url, req)) return serveTos(req, res, url, body, store, log, requestId, time);

  const query = Object.fromEntries(url.searchParams);
  const action = query.Action ?? "";
  const version = query.Version ?? "";
  let service = "";
  let region = "";
  let params: Params = {};
  try {
    const scope = checkSignature(req.headers, url.searchParams, false);
    service = scope.service.toLowerCase();
    region = scope.region;
    params = { ...unflatten(withoutProtocol(query)), ...bodyParams(req, body) };
    if (!action) throw new ApiError(400, "MissingParameter", "The required parameter Action is missing.");
    if (!version) throw new ApiError(400, "MissingParameter", "The required parameter Version is missing.");
    const handler = SERVICES[service]?.[action];
    if (!handler) throw unknownAction(scope.service, action);
    const result = handler({ service, action, version, region, params, store, booter, network });
    send(res, 200, { ResponseMetadata: meta(requestId, action, version, scope.service, region), Result: result ?? {} });
    log.add({
      time,
      requestId,
      protocol: "openapi",
      service,
      action,
      version,
      region,
      params,
      status: 200,
      created: createdId(result),
      result: result ?? {},
    });
  } catch (err) {
    const e =
      err instanceof ApiError
        ? err
        : new ApiError(500, "InternalError", `The stand-in failed: ${(err as Error).message}`);
    send(res, e.status, {
      ResponseMetadata: {
        ...meta(requestId, action, version, service, region),
        Error: { Code: e.code, Message: e.message },
      },
    });
    log.add({
      time,
      requestId,
      protocol: "openapi",
      service,
      action,
      version,
      region,
      params,
      status: e.status,
      error: e.code,
    });
  }
}

function meta(requestId: string, action: string, version: string, service: string, region: string) {
  return { RequestId: requestId, Action: action, Version: version, Service: service, Region: region };
}

function withoutProtocol(q: Record<string, string>): Record<string, string> {
  const { Action: _a, Version: _v, "X-Date": _d, ...rest } = q;
  return rest;
}

function bodyParams(req: IncomingMessage, body: Buffer): Params {
  if (body.length === 0) return {};
  const type = String(req.headers["content-type"] ?? "");
  if (type.includes("json")) {
    try {
      return JSON.parse(body.toString("utf8")) as Params;
    } catch {
      throw new ApiError(400, "InvalidParameter", "The request body is not valid JSON.");
    }
  }
  return unflatten(Object.fromEntries(new URLSearchParams(body.toString("utf8"))));
}

/** The id a Create* call answered with, if any (InstanceIds.0, VpcId, ...). */
function createdId(result: unknown): string | undefined {
  if (!result || typeof result !== "object") return undefined;
  const r = result as Record<string, unknown>;
  if (Array.isArray(r.InstanceIds)) return String(r.InstanceIds[0]);
  const key = Object.keys(r).find((k) => /Id$/.test(k) && typeof r[k] === "string");
  return key ? String(r[key]) : undefined;
}

export function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The stand-in's own inspection endpoints (never part of Volcengine's API). */
function local(url: URL, res: ServerResponse, store: Store, log: CallLog): void {
  if (url.pathname === "/_local/resources") return send(res, 200, store.snapshot());
  if (url.pathname === "/_local/calls") return send(res, 200, log.calls);
  if (url.pathname === "/_local/health") return send(res, 200, { ok: true });
  send(res, 404, { error: "unknown local endpoint" });
}

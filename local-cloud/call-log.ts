import { createHash } from "node:crypto";
import { appendFileSync } from "node:fs";

/** One API call as the stand-in saw and answered it (a line of the JSON-lines call log). */
export interface LoggedCall {
  time: string;
  requestId: string;
  protocol: "openapi" | "tos";
  service: string;
  action: string;
  version?: string;
  region?: string;
  /** OpenAPI: the parameters (nested). TOS: method, bucket, sub-resource, headers that matter, body. */
  params: unknown;
  status: number;
  error?: string;
  /** The answer's `Result` (OpenAPI) or body (TOS), long strings as their sha256 (see `abbreviate`). */
  result?: unknown;
  /** Id of a resource created by this call, for the scenario's "what changed" account. */
  created?: string;
}

/** Parameter names whose values never reach the log (they would be secrets on a real cloud). */
const SECRET = /password|secret|token|privatekey/i;

export function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET.test(k) ? "<redacted>" : redact(x)]));
  }
  return v;
}

/** Strings over 1 KiB (user data read back) become `sha256:<hex>`: the log stays small, still comparable. */
export function abbreviate(v: unknown): unknown {
  if (typeof v === "string") return v.length > 1024 ? `sha256:${createHash("sha256").update(v).digest("hex")}` : v;
  if (Array.isArray(v)) return v.map(abbreviate);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, abbreviate(x)]));
  return v;
}

export class CallLog {
  readonly calls: LoggedCall[] = [];
  constructor(private readonly file?: string) {}

  add(call: LoggedCall): void {
    const safe = {
      ...call,
      params: redact(call.params),
      ...(call.result === undefined ? {} : { result: abbreviate(redact(call.result)) }),
    };
    this.calls.push(safe);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(safe)}\n`);
  }
}

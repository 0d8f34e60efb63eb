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

export class CallLog {
  readonly calls: LoggedCall[] = [];
  constructor(private readonly file?: string) {}

  add(call: LoggedCall): void {
    const safe = { ...call, params: redact(call.params) };
    this.calls.push(safe);
    if (this.file) appendFileSync(this.file, JSON.stringify(safe) + "\n");
  }
}

// Empties an Auto Scaling group before Terraform deletes it: run by the destroy-time provisioner
// of the stack's scaling group (infra/constructs/scaling-group.ts) on the deploying machine, with
// the credentials and endpoint settings the Volcengine provider reads from the environment.
//
//   node scaling-drain.mjs <volc-openapi.mjs> <scaling group id> <region> <timeout seconds>
//
// Whether DeleteScalingGroup releases a group's servers or refuses while it holds any is not
// documented; the provider retries a refusal for 15 minutes and fails. So the group is scaled to
// 0 (ModifyScalingGroup: min 0, desired 0) and this waits until it holds no server (each leaves
// through the SCALE_IN hook). A group that no longer exists is empty. Node.js standard library
// only; the OpenAPI signer is the server kit's (its path is the first argument: both files are
// copied into the synthesized stack).
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [clientPath, groupId, region, timeoutText] = process.argv.slice(2);
if (!clientPath || !groupId || !region || !timeoutText) {
  console.error("usage: scaling-drain.mjs <volc-openapi.mjs> <scaling group id> <region> <timeout seconds>");
  process.exit(2);
}
const { signRequest } = await import(pathToFileURL(path.resolve(clientPath)).href);

const env = process.env;
const creds = { id: env.VOLCENGINE_ACCESS_KEY, secret: env.VOLCENGINE_SECRET_KEY, token: env.VOLCENGINE_SESSION_TOKEN };
if (!creds.id || !creds.secret) {
  console.error(
    `scaling group ${groupId}: VOLCENGINE_ACCESS_KEY and VOLCENGINE_SECRET_KEY must be set to empty the group before it is deleted (docs/auto-scaling.md, Destroy)`,
  );
  process.exit(1);
}
const insecure = env.VOLCENGINE_DISABLE_SSL === "true";
const host = (env.VOLCENGINE_ENDPOINT || "open.volcengineapi.com").replace(/^https?:\/\//, "").replace(/\/+$/, "");
const proxy = env.VOLCENGINE_PROXY_URL ? new URL(env.VOLCENGINE_PROXY_URL) : undefined;
if (proxy && !insecure) {
  console.error("scaling-drain: VOLCENGINE_PROXY_URL is supported with VOLCENGINE_DISABLE_SSL=true only");
  process.exit(1);
}

/** One Auto Scaling action; resolves to the answer's Result, rejects with the API's error code. */
async function call(action, params) {
  const url = new URL(`${insecure ? "http" : "https"}://${host}/`);
  url.searchParams.set("Action", action);
  url.searchParams.set("Version", "2020-01-01");
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  const headers = signRequest({ url, service: "auto_scaling", region, creds });
  const text = await (proxy ? viaProxy(url, headers) : direct(url, headers));
  let body;
  try {
    body = JSON.parse(text.body);
  } catch {
    throw Object.assign(new Error(`${action}: HTTP ${text.status}, not a JSON answer`), { code: "" });
  }
  const error = body?.ResponseMetadata?.Error;
  if (text.status >= 400 || error)
    throw Object.assign(
      new Error(`${action} refused: HTTP ${text.status} ${error?.Code ?? ""} ${error?.Message ?? ""}`),
      {
        code: error?.Code ?? "",
      },
    );
  return body.Result ?? {};
}

async function direct(url, headers) {
  const { host: _host, ...rest } = headers;
  const res = await fetch(url, { headers: rest, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.text() };
}

/** Plain HTTP through a forward proxy (absolute-form request), as the provider sends with DISABLE_SSL. */
function viaProxy(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: proxy.hostname, port: proxy.port || 80, method: "GET", path: url.href, headers, timeout: 30_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

const gone = (err) => /NotFound/.test(err.code ?? "");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  await call("ModifyScalingGroup", { ScalingGroupId: groupId, MinInstanceNumber: 0, DesireInstanceNumber: 0 });
} catch (err) {
  if (gone(err)) {
    console.log(`scaling group ${groupId}: already gone`);
    process.exit(0);
  }
  console.error(`scaling group ${groupId}: could not scale it to 0: ${err.message}`);
  process.exit(1);
}
const deadline = Date.now() + Number(timeoutText) * 1000;
let last = -1;
for (;;) {
  let count;
  try {
    const r = await call("DescribeScalingInstances", { ScalingGroupId: groupId, PageSize: 100 });
    count = (r.ScalingInstances ?? []).length;
  } catch (err) {
    if (gone(err)) break;
    console.error(`scaling group ${groupId}: ${err.message}`);
    count = last;
  }
  if (count === 0) break;
  if (count !== last && count > 0) console.log(`scaling group ${groupId}: waiting for ${count} server(s) to leave`);
  last = count;
  if (Date.now() > deadline) {
    console.error(
      `scaling group ${groupId}: still holds servers after ${timeoutText} s; run the destroy again once the console shows it empty`,
    );
    process.exit(1);
  }
  await sleep(5000);
}
console.log(`scaling group ${groupId}: empty`);

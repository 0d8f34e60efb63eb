import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../shell.js";

/**
 * Volcengine's endpoints, served under their real names on this machine: the stack's OpenAPI
 * origin (`https://open.volcengineapi.com`, the seed's SEED_ENDPOINT) and TOS's S3 endpoint
 * (`https://tos-s3-<region>.volces.com`, OFFSITE_/FLEET_ENDPOINT, the bucket as a virtual host
 * `<bucket>.tos-s3-<region>.volces.com`) resolve, in every server's /etc/hosts, to the host's end
 * of the VPC's uplink, where a TLS front (tls-front.ts) holds a certificate for those names from a
 * CA made for the run, which every server trusts (NODE_EXTRA_CA_CERTS for every unit and login).
 *
 * Why not replace the endpoints in the stack (as the Node.js mirror is): the kit refuses an
 * endpoint that is not an https:// origin (cloud-init/options.ts), and the bucket would have to
 * move into the path. With the real names, the stack, the user data, the deploy step and the
 * kit's clients (virtual-hosted TOS, signed Host header) are exactly what Volcengine gets; only
 * the machine's trust store and name resolution differ, as a machine image's do.
 */
export const OPENAPI_HOST = "open.volcengineapi.com";
const TOS_S3_HOST = /\btos-s3-[a-z0-9-]+\.i?volces\.com\b/g;

export interface EndpointNames {
  /** The OpenAPI's host name, when the stack calls it. */
  openApi?: string;
  /** TOS S3 host names the stack names (one per region). */
  tos: string[];
}

/** The Volcengine host names the stack's user data and deploy step call (texts as synthesized). */
export function endpointNames(texts: string[]): EndpointNames {
  const all = texts.join("\n");
  return {
    ...(all.includes(`https://${OPENAPI_HOST}`) ? { openApi: OPENAPI_HOST } : {}),
    tos: [...new Set(all.match(TOS_S3_HOST) ?? [])].sort(),
  };
}

/** /etc/hosts lines: every name (and `<bucket>.<tos>` for each bucket) at `address`. */
export function hostsLines(names: EndpointNames, buckets: string[], address: string): string[] {
  const hosts = [
    ...(names.openApi ? [names.openApi] : []),
    ...names.tos.flatMap((t) => [t, ...buckets.map((b) => `${b}.${t}`)]),
  ];
  return hosts.map((h) => `${address} ${h}`);
}

export interface RehearsalCa {
  /** PEM of the CA the servers trust. */
  caPem: string;
  /** The TLS front's certificate and key (PEM). */
  certPem: string;
  keyPem: string;
}

/** A CA for this run and a certificate it signs for `hosts` (openssl; nothing leaves `dir`). */
export async function makeRehearsalCa(dir: string, hosts: string[]): Promise<RehearsalCa> {
  await mkdir(dir, { recursive: true });
  const at = (f: string) => join(dir, f);
  const sans = hosts.map((h) => `DNS:${h}`).join(",");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=todo rehearsal CA",
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.pem"),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    `/CN=${hosts[0]}`,
    "-keyout",
    at("front.key"),
    "-out",
    at("front.csr"),
  ]);
  const ext = at("front.ext");
  await run("sh", ["-c", `printf '%s\\n' "subjectAltName=${sans}" "extendedKeyUsage=serverAuth" > "$1"`, "sh", ext]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    at("front.csr"),
    "-CA",
    at("ca.pem"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    at("front.pem"),
  ]);
  const [caPem, certPem, keyPem] = await Promise.all(
    ["ca.pem", "front.pem", "front.key"].map((f) => readFile(at(f), "utf8")),
  );
  return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
}

/** Where the servers find the CA, and the files that make every Node.js process trust it. */
export const CA_PATH = "/usr/local/share/ca-certificates/todo-rehearsal-ca.crt";

export function trustFiles(caPem: string): { path: string; content: string }[] {
  const env = `NODE_EXTRA_CA_CERTS=${CA_PATH}`;
  return [
    { path: CA_PATH.slice(1), content: caPem },
    // Every unit systemd starts (cloud-init's runcmd, the seed, the sync, the backup) ...
    { path: "etc/systemd/system.conf.d/todo-rehearsal-ca.conf", content: `[Manager]\nDefaultEnvironment=${env}\n` },
    // ... and every SSH login (the deploy step), through pam_env.
    { path: "etc/environment", content: `${env}\n` },
  ];
}

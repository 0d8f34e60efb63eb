import { randomBytes } from "node:crypto";
import { filesCredentialsPath, HOST_CONF_PATH } from "../../contract/server.js";
import { startS3StandIn } from "../../local-cloud/services/tos/s3-data-plane.js";
import type { RehearsalClient } from "./api.js";
import type { Cleanup } from "./cleanup.js";
import type { Container } from "./container.js";
import { deployInContainer } from "./deploy.js";
import { expectAppCannotReachMetadata } from "./metadata-check.js";
import type { Release } from "./releases.js";
import type { StepLog } from "./steps.js";

/**
 * Attachments on a running server, as `files` in the stack turns them on: the deploy writes the
 * API's FILES_* settings (`todo-release set-env`, as the stack's secrets step does) and the files
 * role into the host settings, and the release's kit installs the credentials unit. Its
 * credentials come from a metadata stand-in on Volcengine's own metadata address inside the
 * container (so the unit's IPAddressAllow= is the real one: only its port is moved, by a drop-in,
 * because Nginx holds port 80 there); the bucket is local-cloud's TOS data plane on the host,
 * which checks every TOS4 signature with the same credentials. Then a mobile client's whole
 * round: a todo, an upload reserved, the bytes PUT to the presigned URL, complete, the download
 * through the API's 302, the todo deleted, and the object gone (the API's deletion job).
 */
export interface FilesRehearsal {
  box: Container;
  log: StepLog;
  cleanup: Cleanup;
  api: RehearsalClient;
  appName: string;
  hostAddress: string;
  /** The release the server runs (deployed again with the new settings). */
  release: Release;
  id: string;
}

const METADATA = "100.96.0.96";
/** Not 8096: metadata-check.ts's own stand-in takes that one while this one still runs. */
const METADATA_PORT = 8097;
const BUCKET = "todo-api-rehearsal-files";
const ROLE = "todo-api-rehearsal-backup";

/**
 * A metadata service as small as the unit needs, run inside the container: the token endpoint and
 * the role's credentials (token required), nothing else. The credentials are this run's own test
 * values, the ones the TOS stand-in verifies signatures with.
 */
function metadataServer(creds: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }): string {
  const body = JSON.stringify({ ...creds, ExpiredTime: "EXPIRES" });
  return `const tokens = new Set();
require("http").createServer((q, r) => {
  if (q.url === "/latest/api/token") { const t = require("crypto").randomBytes(16).toString("hex"); tokens.add(t); return r.end(t); }
  if (q.url === "/volcstack/latest/iam/security_credentials/${ROLE}" && tokens.has(q.headers["x-volc-ecs-metadata-token"]))
    return r.end(${JSON.stringify(body)}.replace("EXPIRES", new Date(Date.now() + 3600e3).toISOString()));
  r.statusCode = 404; r.end("not found");
}).listen(${METADATA_PORT}, "${METADATA}");`;
}

export async function runFilesRehearsal(f: FilesRehearsal): Promise<void> {
  const { box, log, api, appName } = f;
  const started = Date.now();
  const creds = {
    AccessKeyId: "AKTPFILESREHEARSAL",
    SecretAccessKey: randomBytes(16).toString("hex"),
    SessionToken: randomBytes(16).toString("hex"),
  };
  const tos = await startS3StandIn({ bucket: BUCKET, region: "cn-beijing", creds: () => creds, host: f.hostAddress });
  f.cleanup.add("files TOS stand-in", () => tos.close());
  const sh = (script: string) => box.exec(script, { allowFailure: true, timeoutMs: 120_000 });
  const credentialsFile = filesCredentialsPath(appName);

  await log.step("files: a deploy turns them on; the credentials unit fetches the role's credentials", async () => {
    const script = metadataServer(creds).replace(/'/g, `'\\''`);
    const up = await sh(
      `set -eu
ip addr add ${METADATA}/32 dev lo 2>/dev/null || true
systemd-run --quiet --unit=rehearsal-files-metadata --property=Type=exec /usr/local/bin/node -e '${script}'
mkdir -p /etc/systemd/system/${appName}-files-credentials.service.d
printf '[Service]\\nEnvironment=TODO_METADATA_URL=http://${METADATA}:${METADATA_PORT}\\n' >/etc/systemd/system/${appName}-files-credentials.service.d/rehearsal.conf
${Object.entries({
  FILES_STORAGE: "tos",
  FILES_TOS_BUCKET: BUCKET,
  FILES_TOS_REGION: "cn-beijing",
  FILES_TOS_ENDPOINT: tos.url,
  FILES_TOS_KEY_PREFIX: "files/",
  FILES_CREDENTIALS_FILE: credentialsFile,
})
  .map(([key, value]) => `printf '%s' '${value}' | /usr/local/sbin/todo-release set-env ${key}`)
  .join("\n")}`,
    );
    if (up.code !== 0) throw new Error(`setting up the files settings failed:\n${up.output}`);
    f.cleanup.add("files metadata stand-in", async () => {
      await sh(
        `systemctl stop rehearsal-files-metadata.service; rm -rf /etc/systemd/system/${appName}-files-credentials.service.d`,
      );
    });
    // What the deploy step writes: the host settings with the role the server holds, then the kit.
    const hostConf = await box.readFile(HOST_CONF_PATH);
    const withRole = `${hostConf.replace(/^FILES_ROLE=.*\n/m, "")}FILES_ROLE='${ROLE}'\n`;
    const deployed = await deployInContainer(box, f.release, { hostSettings: withRole });
    if (deployed.code !== 0) throw new Error(`the deploy exited ${deployed.code}:\n${deployed.output}`);
    const state = await sh(
      `stat -c '%a %U:%G' ${credentialsFile}; systemctl is-enabled ${appName}-files-credentials.timer; systemctl is-active ${appName}-files-credentials.timer; systemctl show -P Result ${appName}-files-credentials.service; journalctl --no-pager -o cat -n 3 -u ${appName}-files-credentials.service; systemd-analyze security ${appName}-files-credentials.service --no-pager | tail -n1`,
    );
    log.info(state.output.trim());
    const [mode, enabled, active, result] = state.stdout.trim().split("\n");
    if (mode !== `640 root:${appName}`) throw new Error(`${credentialsFile} is ${mode}, expected 640 root:${appName}`);
    if (enabled !== "enabled" || active !== "active") throw new Error(`the credentials timer is ${enabled}/${active}`);
    if (result !== "success") throw new Error(`the credentials unit's last run: ${result}`);
    // /run is the container's own tmpfs: read inside it.
    const written = JSON.parse((await box.exec(`cat ${credentialsFile}`)).stdout) as Record<string, string>;
    if (written.AccessKeyId !== creds.AccessKeyId || written.SessionToken !== creds.SessionToken)
      throw new Error("the credentials file does not hold the role's credentials");
  });

  await log.check("files: the app still cannot reach the metadata address", () =>
    expectAppCannotReachMetadata(box, appName, log),
  );

  await log.step(
    "files: upload through a presigned URL, complete, download through the 302, delete the todo, the object goes",
    async () => {
      const user = { username: `files_${f.id}`, password: `Files-${f.id}-rehearsal-pw` };
      await api.register(user.username, user.password);
      const token = await api.login(user.username, user.password);
      const todo = await api.createTodo(token, "a todo with a photo");
      const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(200_000)]);
      const created = await api.expect(201, "POST", `/api/v1/todos/${todo}/attachments`, {
        token,
        json: { filename: "receipt.jpg", content_type: "image/jpeg", size: bytes.length },
      });
      const { attachment, upload } = created as unknown as {
        attachment: { id: string; status: string };
        upload: { method: string; url: string; headers: Record<string, string> };
      };
      if (!upload.url.startsWith(`${tos.url}/`)) throw new Error(`the upload URL is not the bucket's: ${upload.url}`);
      const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: bytes });
      if (put.status !== 200) throw new Error(`the presigned PUT answered ${put.status}: ${await put.text()}`);
      const key = [...tos.log]
        .reverse()
        .find((l) => l.method === "PUT")
        ?.path.split("?")[0]
        ?.replace(`/${BUCKET}/`, "");
      if (!key?.startsWith("files/") || !tos.objects.get(key)?.equals(bytes))
        throw new Error(`the bytes are not in the bucket under files/ (key ${key})`);
      const ready = await api.expect(200, "POST", `/api/v1/attachments/${attachment.id}/complete`, { token });
      if (ready.status !== "ready") throw new Error(`complete answered ${JSON.stringify(ready)}`);
      const redirect = await api.request("GET", `/api/v1/attachments/${attachment.id}/content`, { token });
      if (redirect.status !== 302) throw new Error(`the download answered ${redirect.status}: ${redirect.text}`);
      const location = redirect.headers.get("location") ?? "";
      if (!location.startsWith(`${tos.url}/`)) throw new Error(`the download goes elsewhere: ${location}`);
      const download = await fetch(location);
      const got = Buffer.from(await download.arrayBuffer());
      if (download.status !== 200 || !got.equals(bytes)) throw new Error(`the download answered ${download.status}`);
      log.info(`uploaded and downloaded ${bytes.length} bytes as tos://${BUCKET}/${key}`);
      await api.expect(204, "DELETE", `/api/v1/todos/${todo}`, { token });
      // The deletion job runs every minute in the API.
      const until = Date.now() + 150_000;
      while (tos.objects.has(key)) {
        if (Date.now() > until)
          throw new Error(`tos://${BUCKET}/${key} is still there 150 s after the todo's deletion`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      // The SDK sends the key percent-encoded ("files%2F...").
      const deleted = tos.log.filter((l) => l.method === "DELETE" && decodeURIComponent(l.path).includes(key));
      log.info(`the object went: ${deleted.map((l) => `DELETE ${l.status}`).join(", ")}`);
      if (!deleted.some((l) => l.status === 204))
        throw new Error("the object went without a DELETE the bucket answered");
    },
  );
  log.info(`files rehearsal: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

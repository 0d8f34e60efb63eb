import type { TosClient } from "@volcengine/tos-sdk";
import type {
  DownloadRequest,
  ObjectStore,
  PresignedRequest,
  TosStoreSettings,
  UploadRequest,
} from "./object-store.js";
import { attachmentDisposition } from "./content-disposition.js";
import { ObjectStoreUnavailableError } from "./object-store-unavailable.js";
import { type StsCredentials, StsCredentialsFile } from "./sts-credentials-file.js";

export { ObjectStoreUnavailableError } from "./object-store-unavailable.js";

/** The contract: upload and download URLs live at most 15 minutes. */
const MAX_URL_SECONDS = 900;

/**
 * Volcengine TOS through its official SDK, `@volcengine/tos-sdk`: presigned PUT and GET URLs
 * (`TOS4-HMAC-SHA256` in the query string), HEAD and DELETE signed in headers, all with the
 * instance role's STS credentials from `settings.credentialsFile` (re-read when the file changes
 * or before the ones in hand expire; see sts-credentials-file.ts). No access key from the
 * environment, ever.
 *
 * What the SDK signs and what it does not:
 * - A presigned URL signs the host and the query only (both official SDKs, JavaScript and Go, leave
 *   Content-Type out of a query signature), so the upload's `Content-Type` header is what the client
 *   must send but not something TOS enforces. Downloads therefore always sign
 *   `response-content-type` with the declared type, and `complete` checks the size: an upload with
 *   another type is still served as the type that was declared.
 * - A URL lives min(requested, 900 s, the credentials' remaining life): a presigned URL stops working
 *   when the session token inside it expires.
 *
 * Addressing: the SDK's own rule. A domain endpoint (`tos-cn-beijing.volces.com`) gets
 * virtual-hosted URLs (`https://<bucket>.<endpoint>/<key>`); an IP endpoint (a loopback stand-in)
 * gets path style, `/<bucket>/<key>`, which the SDK already uses for HEAD and DELETE there.
 *
 * The SDK (625 KB bundled, ~0.2 s and ~20 MB to load) is loaded on first use, so a server with
 * files off never pays for it.
 */
export function createTosObjectStore(settings: TosStoreSettings): ObjectStore {
  const { secure, host } = parseEndpoint(settings.endpoint);
  const pathStyle = /^(\d|\[|:)/.test(host);
  const credentialsFile = new StsCredentialsFile(settings.credentialsFile);
  let client: { credentials: StsCredentials; tos: TosClient } | undefined;

  async function current(): Promise<{ credentials: StsCredentials; tos: TosClient }> {
    const credentials = await credentialsFile.current();
    // Re-reading an unchanged file (close to expiry) keeps the client and its open connections.
    const held = client?.credentials;
    if (
      client &&
      held?.accessKeyId === credentials.accessKeyId &&
      held.secretAccessKey === credentials.secretAccessKey &&
      held.sessionToken === credentials.sessionToken
    ) {
      client = { credentials, tos: client.tos };
      return client;
    }
    const { TosClient: Client } = await import("@volcengine/tos-sdk");
    const tos = new Client({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.secretAccessKey,
      stsToken: credentials.sessionToken,
      region: settings.region,
      endpoint: host,
      secure,
      // A route waits on HEAD: fail within seconds, not the SDK's default two minutes.
      requestTimeout: 10_000,
      connectionTimeout: 5_000,
      maxRetryCount: 2,
    });
    client = { credentials, tos };
    return client;
  }

  const fullKey = (key: string) => {
    if (!key || key.startsWith("/")) throw new Error(`invalid object key ${JSON.stringify(key)}`);
    return `${settings.keyPrefix}${key}`;
  };

  async function presign(
    method: "PUT" | "GET",
    key: string,
    expiresInSeconds: number,
    response?: { contentType: string; contentDisposition: string },
  ): Promise<{ url: string; expiresAt: Date }> {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_URL_SECONDS)
      throw new RangeError(`expiresInSeconds must be an integer of 1 to ${MAX_URL_SECONDS}`);
    const { credentials, tos } = await current();
    const left = Math.floor((credentials.expiresAt.getTime() - Date.now()) / 1000);
    const expires = Math.min(expiresInSeconds, left);
    if (expires < 1) throw new ObjectStoreUnavailableError("object storage credentials: they expire now");
    const objectKey = fullKey(key);
    const url = tos.getPreSignedUrl({
      method,
      expires,
      ...(response ? { response } : {}),
      // Path style for an IP endpoint: the bucket as the first segment of a "custom domain" path.
      ...(pathStyle
        ? { key: `${settings.bucket}/${objectKey}`, isCustomDomain: true }
        : { key: objectKey, bucket: settings.bucket }),
    });
    return { url, expiresAt: new Date(Date.now() + expires * 1000) };
  }

  return {
    kind: "tos",

    async presignUpload(input: UploadRequest): Promise<PresignedRequest> {
      const { url, expiresAt } = await presign("PUT", input.key, input.expiresInSeconds);
      return { method: "PUT", url, headers: { "Content-Type": input.contentType }, expiresAt };
    },

    async presignDownload(input: DownloadRequest): Promise<PresignedRequest> {
      const { url, expiresAt } = await presign("GET", input.key, input.expiresInSeconds, {
        contentType: input.contentType,
        contentDisposition: attachmentDisposition(input.filename),
      });
      return { method: "GET", url, headers: {}, expiresAt };
    },

    async head(key: string): Promise<{ size: number } | null> {
      const { tos } = await current();
      try {
        const answer = await tos.headObject({ bucket: settings.bucket, key: fullKey(key) });
        return { size: Number(answer.data["content-length"]) };
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw unavailable("HEAD", err);
      }
    },

    async delete(key: string): Promise<void> {
      const { tos } = await current();
      try {
        await tos.deleteObject({ bucket: settings.bucket, key: fullKey(key) });
      } catch (err) {
        if (statusOf(err) === 404) return;
        throw unavailable("DELETE", err);
      }
    },
  };
}

/** `https://host`, `http://127.0.0.1:9000` or a bare host (HTTPS). */
function parseEndpoint(endpoint: string): { secure: boolean; host: string } {
  if (!/^[a-z]+:\/\//i.test(endpoint)) return { secure: true, host: endpoint.replace(/\/+$/, "") };
  const url = new URL(endpoint);
  return { secure: url.protocol === "https:", host: url.host };
}

const statusOf = (err: unknown) => (err as { statusCode?: unknown })?.statusCode;

/**
 * The SDK's errors carry the request they failed on (its headers include the session token), so
 * only the status, TOS's code and request id, or a network error's message, go into ours.
 */
function unavailable(operation: string, err: unknown): ObjectStoreUnavailableError {
  const e = err as { statusCode?: number; code?: string; requestId?: string; message?: string };
  const detail =
    typeof e?.statusCode === "number"
      ? `${[e.statusCode, e.code].filter(Boolean).join(" ")} (request ${e.requestId || "unknown"})`
      : String(e?.message ?? err)
          .split("\n")[0]!
          .slice(0, 200);
  return new ObjectStoreUnavailableError(`object storage ${operation} failed: ${detail}`);
}

/**
 * Where attachment bytes live. The API never carries them in production: it hands the client a
 * presigned request and later asks the store whether the object arrived (HEAD) or removes it.
 *
 * Two stores implement this: `LocalObjectStore` (the API itself stands in under `.data/`, for
 * `npm start` on the embedded database) and `TosObjectStore` (Volcengine TOS through its SDK,
 * signing with the instance role's short-lived credentials).
 */
export interface ObjectStore {
  /** `local` or `tos`: shown in logs and the readiness detail, never in client responses. */
  readonly kind: "local" | "tos";
  /** A request the client sends as-is to put the bytes of one object key. */
  presignUpload(input: UploadRequest): Promise<PresignedRequest>;
  /** A request that reads one object, carrying `Content-Disposition` with the file's name. */
  presignDownload(input: DownloadRequest): Promise<PresignedRequest>;
  /** The stored object's size, or `null` when there is no object under the key. */
  head(key: string): Promise<{ size: number } | null>;
  /** Removes the object; removing an absent object succeeds (deletions are retried). */
  delete(key: string): Promise<void>;
}

/**
 * Object keys, in every method: 32 random base64url characters (`[A-Za-z0-9_-]`) made by the
 * attachment service, never derived from the filename. They are relative: the TOS store puts them
 * under `TosStoreSettings.keyPrefix` (the stored key is `files/<key>`), the local store under its
 * folder. The database keeps the relative key: changing the prefix of a bucket that already holds
 * files would strand them.
 */
export interface UploadRequest {
  key: string;
  contentType: string;
  size: number;
  /** At most 900 (the contract: upload and download URLs live at most 15 minutes). */
  expiresInSeconds: number;
}

export interface DownloadRequest {
  key: string;
  filename: string;
  contentType: string;
  expiresInSeconds: number;
}

export interface PresignedRequest {
  method: "PUT" | "GET";
  url: string;
  /** Headers the client must send with the request (part of what was signed). */
  headers: Record<string, string>;
  expiresAt: Date;
}

/** Settings of the TOS store (from the app's environment; see app/config.ts). */
export interface TosStoreSettings {
  /** The environment's files bucket (private). */
  bucket: string;
  /** e.g. `cn-beijing` */
  region: string;
  /** e.g. `tos-cn-beijing.volces.com`, or a stand-in's `http://127.0.0.1:port` in tests. */
  endpoint: string;
  /** Object keys start with this (the role policy allows only this prefix), e.g. `files/`. */
  keyPrefix: string;
  /**
   * A JSON file with the instance role's STS credentials, refreshed by a privileged unit:
   * `{ "AccessKeyId", "SecretAccessKey", "SessionToken", "ExpiredTime" }` (ISO 8601).
   */
  credentialsFile: string;
}

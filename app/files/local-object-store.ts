import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { DownloadRequest, ObjectStore, PresignedRequest, UploadRequest } from "./object-store.js";

/** Where the API serves the stand-in's presigned requests (outside /api/v1, not in the OpenAPI document). */
export const LOCAL_FILES_PATH = "/local-files";

/** Keys of this store: what the attachment service makes (random base64url), nothing that could name a path. */
const KEY = /^[A-Za-z0-9_-]{16,128}$/;

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: "expired" | "signature" | "malformed" };

export interface SignedUpload {
  key: string;
  contentType: string;
  size: number;
}

export interface SignedDownload {
  key: string;
  filename: string;
  contentType: string;
}

/**
 * The API standing in for object storage when it runs on the embedded database (`npm start`): the
 * bytes live under DATA_DIR/files, and the URLs have the shape of the real store's — presigned
 * for one key, expiring, signed with HMAC-SHA256 under a key kept in DATA_DIR. The upload URL
 * signs the content type and the exact size; the download URL the filename and content type.
 * The routes that serve them are in routes/local-files.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = "local" as const;

  constructor(
    readonly dir: string,
    private readonly signingKey: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new random key of this store's alphabet. */
  static newKey(): string {
    return randomBytes(24).toString("base64url");
  }

  async presignUpload(input: UploadRequest): Promise<PresignedRequest> {
    const key = checkedKey(input.key);
    const expires = this.expiry(input.expiresInSeconds);
    const sig = this.sign(["PUT", key, String(expires), input.contentType, String(input.size)]);
    const query = new URLSearchParams({ expires: String(expires), size: String(input.size), sig });
    return {
      method: "PUT",
      // Relative: the route resolves it against the origin the client reached the API at.
      url: `${LOCAL_FILES_PATH}/${key}?${query}`,
      headers: { "Content-Type": input.contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  async presignDownload(input: DownloadRequest): Promise<PresignedRequest> {
    const key = checkedKey(input.key);
    const expires = this.expiry(input.expiresInSeconds);
    const sig = this.sign(["GET", key, String(expires), input.filename, input.contentType]);
    const query = new URLSearchParams({
      expires: String(expires),
      filename: input.filename,
      type: input.contentType,
      sig,
    });
    return {
      method: "GET",
      url: `${LOCAL_FILES_PATH}/${key}?${query}`,
      headers: {},
      expiresAt: new Date(expires * 1000),
    };
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.path(key));
      return { size: s.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  /** Checks an upload URL's query against the request's content type. */
  verifyUpload(key: string, query: URLSearchParams, contentType: string | undefined): Verdict<SignedUpload> {
    const expires = query.get("expires");
    const size = query.get("size");
    const sig = query.get("sig");
    if (!KEY.test(key) || !expires || !/^\d{1,12}$/.test(expires) || !size || !/^\d{1,16}$/.test(size) || !sig) {
      return { ok: false, reason: "malformed" };
    }
    // The content type is part of what was signed: another one fails the signature, as on TOS.
    if (!this.signatureMatches(sig, ["PUT", key, expires, contentType ?? "", size])) {
      return { ok: false, reason: "signature" };
    }
    if (Number(expires) * 1000 < this.now()) return { ok: false, reason: "expired" };
    return { ok: true, value: { key, contentType: contentType ?? "", size: Number(size) } };
  }

  verifyDownload(key: string, query: URLSearchParams): Verdict<SignedDownload> {
    const expires = query.get("expires");
    const filename = query.get("filename");
    const type = query.get("type");
    const sig = query.get("sig");
    if (!KEY.test(key) || !expires || !/^\d{1,12}$/.test(expires) || filename === null || type === null || !sig) {
      return { ok: false, reason: "malformed" };
    }
    if (!this.signatureMatches(sig, ["GET", key, expires, filename, type])) return { ok: false, reason: "signature" };
    if (Number(expires) * 1000 < this.now()) return { ok: false, reason: "expired" };
    return { ok: true, value: { key, filename, contentType: type } };
  }

  /** Where a key's bytes live; a temporary name beside it while an upload streams in. */
  path(key: string): string {
    return join(this.dir, checkedKey(key));
  }

  async prepareWrite(key: string): Promise<{ temp: string; commit: () => Promise<void> }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = join(this.dir, `.upload-${randomBytes(8).toString("hex")}`);
    return { temp, commit: () => rename(temp, this.path(key)) };
  }

  private expiry(seconds: number): number {
    return Math.floor(this.now() / 1000) + Math.min(seconds, 900);
  }

  private sign(parts: string[]): string {
    return createHmac("sha256", this.signingKey).update(parts.join("\n")).digest("base64url");
  }

  private signatureMatches(given: string, parts: string[]): boolean {
    const expected = Buffer.from(this.sign(parts));
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new Error("not a key of the local object store");
  return key;
}

import { readFile, stat } from "node:fs/promises";
import { ObjectStoreUnavailableError } from "./object-store-unavailable.js";

/**
 * The instance role's short-lived credentials, as a privileged unit on the server writes them into
 * a file only the app user can read (the app itself cannot reach the metadata service):
 * `{ "AccessKeyId", "SecretAccessKey", "SessionToken", "ExpiredTime" }`, ExpiredTime in ISO 8601.
 */
export interface StsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiresAt: Date;
}

/** Re-read the file this long before the credentials in hand expire, even when it looks unchanged. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * Reads the credentials file when it changed (size, mtime or inode), or when the credentials in
 * hand are within REFRESH_BEFORE_EXPIRY_MS of expiring; otherwise answers the ones it holds. A
 * missing, unreadable, malformed or expired file is an ObjectStoreUnavailableError, never a crash.
 */
export class StsCredentialsFile {
  private held: { stamp: string; credentials: StsCredentials } | undefined;

  constructor(
    private readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async current(): Promise<StsCredentials> {
    let stamp: string;
    try {
      const s = await stat(this.path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      throw this.unavailable(`cannot read ${this.path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const held = this.held;
    const now = this.now().getTime();
    if (held && held.stamp === stamp && held.credentials.expiresAt.getTime() - now > REFRESH_BEFORE_EXPIRY_MS)
      return held.credentials;
    const credentials = await this.read();
    if (credentials.expiresAt.getTime() <= now) {
      this.held = undefined;
      throw this.unavailable(`the credentials in ${this.path} expired at ${credentials.expiresAt.toISOString()}`);
    }
    this.held = { stamp, credentials };
    return credentials;
  }

  private async read(): Promise<StsCredentials> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      throw this.unavailable(`cannot read ${this.path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text);
    } catch {
      // A refresher caught mid-write (it should rename into place) or a broken file: never echo it.
      throw this.unavailable(`${this.path} is not a JSON object`);
    }
    const field = (name: string) => {
      const v = json?.[name];
      if (typeof v !== "string" || v === "") throw this.unavailable(`${this.path} has no ${name}`);
      return v;
    };
    const expiresAt = new Date(field("ExpiredTime"));
    if (Number.isNaN(expiresAt.getTime())) throw this.unavailable(`${this.path} has an ExpiredTime that is not a date`);
    return {
      accessKeyId: field("AccessKeyId"),
      secretAccessKey: field("SecretAccessKey"),
      sessionToken: field("SessionToken"),
      expiresAt,
    };
  }

  private unavailable(message: string): ObjectStoreUnavailableError {
    return new ObjectStoreUnavailableError(`object storage credentials: ${message}`);
  }
}

import { createHmac, timingSafeEqual } from "node:crypto";
import { badRequest } from "../errors.js";

/** Longer than any cursor this server issues; the document declares it as the cursor's maximum. */
export const MAX_CURSOR_LENGTH = 200;
/** Issue times this far ahead of the clock are tolerated (servers' clocks differ a little). */
const CLOCK_SKEW_MS = 60_000;

export interface CursorPosition {
  seq: number;
  issuedAtMs: number;
}

const malformed = () =>
  badRequest("The sync cursor is malformed. Use next_cursor exactly as returned, or start over without one.");

/**
 * Sync cursors: the user's change number the client has seen everything up to, and when the
 * server handed it out (the issue time decides expiry, 410). Base64url so clients treat it as opaque.
 *
 * Issued cursors (`v2`) carry an HMAC-SHA256 over the position and the user id, with a key derived
 * from the server's JWT secret: a client cannot forge an issue time (a cursor that never expires)
 * nor use another user's cursor. Unsigned `v1` cursors, which apps already shipped may hold, are
 * still read while they are plausible (issued in the past, within the retention); they expire on
 * their own within the retention, so the legacy path ends by itself.
 */
export class CursorCodec {
  private readonly key: Buffer;

  constructor(secret: Uint8Array) {
    this.key = createHmac("sha256", secret).update("todo-api sync cursor v2").digest();
  }

  encode(userId: number, seq: number, issuedAtMs: number): string {
    const body = `v2.${seq}.${Math.floor(issuedAtMs / 1000)}`;
    return Buffer.from(`${body}.${this.mac(userId, body)}`, "utf8").toString("base64url");
  }

  /** The position a cursor names; 400 for anything this server did not issue. */
  decode(userId: number, cursor: string, nowMs: number): CursorPosition {
    if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw malformed();
    const text = Buffer.from(cursor, "base64url").toString("utf8");
    // Non-canonical base64 (other padding bits) decodes to the same text: one cursor, one spelling.
    if (Buffer.from(text, "utf8").toString("base64url") !== cursor) throw malformed();
    const signed = /^(v2\.(0|[1-9]\d{0,15})\.([1-9]\d{0,11}))\.([A-Za-z0-9_-]{43})$/.exec(text);
    let position: CursorPosition;
    if (signed) {
      const expected = Buffer.from(this.mac(userId, signed[1]!));
      const given = Buffer.from(signed[4]!);
      if (!timingSafeEqual(expected, given)) throw malformed();
      position = { seq: Number(signed[2]), issuedAtMs: Number(signed[3]) * 1000 };
    } else {
      const legacy = /^v1\.(0|[1-9]\d{0,15})\.([1-9]\d{0,11})$/.exec(text);
      if (!legacy) throw malformed();
      position = { seq: Number(legacy[1]), issuedAtMs: Number(legacy[2]) * 1000 };
    }
    if (position.issuedAtMs > nowMs + CLOCK_SKEW_MS) throw malformed();
    return position;
  }

  private mac(userId: number, body: string): string {
    return createHmac("sha256", this.key).update(`${userId}:${body}`).digest("base64url");
  }
}

/** An unsigned cursor as servers before signing issued them (apps already shipped may hold one). */
export function legacyCursor(seq: number, issuedAtMs: number): string {
  return Buffer.from(`v1.${seq}.${Math.floor(issuedAtMs / 1000)}`, "utf8").toString("base64url");
}

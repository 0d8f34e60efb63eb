import { createHash, randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/bcrypt";

/**
 * bcrypt reads at most 72 bytes, so a long passphrase would be silently truncated. Pre-hashing
 * with SHA-256 (base64, no NUL bytes) keeps every character of a 128-character password relevant.
 */
function prehash(password: string): string {
  return createHash("sha256").update(password, "utf8").digest("base64");
}

export class PasswordHasher {
  private readonly dummyHash: Promise<string>;

  constructor(private readonly cost: number) {
    // Compared against when the user does not exist, so "no such user" costs as much as "wrong password".
    this.dummyHash = hash(prehash(randomBytes(16).toString("hex")), cost);
  }

  hash(password: string): Promise<string> {
    return hash(prehash(password), this.cost);
  }

  verify(password: string, passwordHash: string): Promise<boolean> {
    return verify(prehash(password), passwordHash);
  }

  /** Spend the same time as a real verification, then fail. */
  async verifyNobody(password: string): Promise<false> {
    await verify(prehash(password), await this.dummyHash);
    return false;
  }
}

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where the EIP addresses in use by the stand-ins on this machine are claimed (tmpfs: gone at reboot). */
const CLAIMS = "/run/todo-local-cloud/eips";

/**
 * EIP addresses for this run only, so that two stand-ins on one machine never route the same
 * address: a file per address in /run/todo-local-cloud/eips created exclusively (atomic across
 * processes), holding our PID; a claim whose process is gone is taken over.
 */
export class EipClaims {
  private readonly claimed = new Set<string>();

  constructor(private readonly dir: string = CLAIMS) {}

  claim(address: string): boolean {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, address);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
        this.claimed.add(address);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const owner = Number(readFileSync(file, "utf8").trim());
        if (owner === process.pid || alive(owner)) return false;
        rmSync(file, { force: true });
      }
    }
    return false;
  }

  release(address: string): void {
    if (this.claimed.delete(address)) rmSync(join(this.dir, address), { force: true });
  }

  releaseAll(): void {
    for (const address of [...this.claimed]) this.release(address);
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A minimal, deterministic ustar writer and reader. Deterministic means the archive depends only on
 * the entries given: fixed mtime, uid/gid 0, no user names, no extended headers — unlike a system
 * `tar`, whose output varies with the machine (and whose GNU-only flags macOS's bsdtar lacks).
 */
import { gzipSync } from "node:zlib";

export interface TarEntry {
  /** Relative path with `/` separators; directories end without a slash. */
  path: string;
  type: "file" | "directory";
  /** Permission bits, e.g. 0o644. */
  mode: number;
  content?: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  const text = value.toString(8);
  if (text.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width - 1} octal digits`);
  return `${text.padStart(width - 1, "0")}\0`;
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const path = entry.type === "directory" ? `${entry.path}/` : entry.path;
  const { name, prefix } = splitName(path);
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode & 0o7777, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii"); // mtime: the epoch, always
  h.write("        ", 148, "ascii"); // checksum placeholder
  h.write(entry.type === "directory" ? "5" : "0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${octal(sum, 7)} `, 148, "ascii");
  return h;
}

/** The archive of `entries`, in the order given (sort them first for a canonical archive). */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..")) {
      throw new Error(`tar: unsafe path ${entry.path}`);
    }
    const content = entry.type === "file" ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(header(entry, content.length), content);
    const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

/** Reads a ustar archive (as written by createTar; enough for tests and checks). */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  const text = (start: number, length: number) =>
    archive
      .subarray(start, start + length)
      .toString("utf8")
      .replace(/\0.*$/s, "");
  while (offset + BLOCK <= archive.length) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((b) => b === 0)) break;
    const name = text(offset, 100);
    const prefix = text(offset + 345, 155);
    const mode = parseInt(text(offset + 100, 8), 8);
    const size = parseInt(text(offset + 124, 12), 8);
    const type = text(offset + 156, 1) === "5" ? "directory" : "file";
    const full = (prefix ? `${prefix}/${name}` : name).replace(/\/$/, "");
    offset += BLOCK;
    const content = Buffer.from(archive.subarray(offset, offset + size));
    offset += Math.ceil(size / BLOCK) * BLOCK;
    entries.push(type === "file" ? { path: full, type, mode, content } : { path: full, type, mode });
  }
  return entries;
}

/** gzip with a fixed header (no name, mtime 0, OS "Unix"), so equal input gives equal bytes on any OS. */
export function gzipDeterministic(data: Buffer): Buffer {
  return normalizeGzipHeader(gzipSync(data, { level: 9 }));
}

export function normalizeGzipHeader(gz: Buffer): Buffer {
  const out = Buffer.from(gz);
  out.writeUInt32LE(0, 4); // MTIME
  out[9] = 3; // OS = Unix
  return out;
}

/**
 * `Content-Disposition: attachment` with the file's name: an ASCII fallback in `filename` for old
 * clients, and the exact name in `filename*` (RFC 6266, RFC 5987 UTF-8 encoding).
 */
export function attachmentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/**
 * `Content-Disposition: attachment` carrying a file's name (RFC 6266): `filename="..."` with an
 * ASCII stand-in for old clients, and `filename*=UTF-8''...` (RFC 5987) with the exact name when it
 * is not plain ASCII. `attachment`, not `inline`: a browser that opens the URL saves the file rather
 * than rendering an uploaded HTML or SVG in the storage's origin.
 */
export function contentDisposition(filename: string): string {
  // Control characters never reach a header; quotes and backslashes would end or escape the string.
  const clean = filename.replace(/\p{Cc}/gu, "").trim() || "file";
  const ascii = clean.replace(/[^\u0020-\u007e]/g, "_").replace(/["\\]/g, "_");
  if (ascii === clean) return `attachment; filename="${ascii}"`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(clean)}`;
}

/** RFC 5987 value-chars: attr-char as is, every other UTF-8 byte as %XX. */
function encodeRfc5987(s: string): string {
  // encodeURIComponent leaves ' ( ) * unescaped, which are not attr-chars.
  return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

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

/**
 * How usernames and e-mail addresses compare. Both are ASCII (registration refuses anything else),
 * and they compare case-insensitively over ASCII letters only: no Unicode case folding and no NFKC,
 * so no other character (the Kelvin sign U+212A, a fullwidth letter, …) can ever stand for an ASCII
 * one. JavaScript's `toLowerCase` would turn "\u212A" into "k"; this does not.
 */
export function foldAscii(value: string): string {
  return value.replace(/[A-Z]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 32));
}

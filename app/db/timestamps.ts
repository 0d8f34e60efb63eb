/**
 * PostgreSQL's text form of `timestamptz` (`2026-11-28 09:16:41.123456+00`, offset as `±HH`,
 * `±HH:MM` or `±HH:MM:SS`) read into a Date without regular expressions.
 *
 * Why: a page of 20 todos carries 60 timestamps, and pg's general parser (postgres-date, several
 * regular expressions per value) was the largest single cost of the list route in a CPU profile
 * (~9 % of the process). This reader handles the shape PostgreSQL prints for years 1000–9999 and
 * hands everything else (BC, `infinity`, 5-digit years) to the general parser, so results are
 * identical; test/app/timestamps.test.ts compares the two on values PostgreSQL itself printed.
 * Like postgres-date, sub-millisecond digits are dropped (a Date holds milliseconds).
 */
export function parseTimestamptz(text: string, fallback: (text: string) => Date | number | null): Date | number | null {
  const n = text.length;
  // Shortest accepted form: "YYYY-MM-DD HH:MM:SS+HH" (22 characters).
  if (n < 22 || n > 35 || !separatorsAt(text)) return fallback(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if ((year | month | day | hour | minute | second) < 0 || year < 1000) return fallback(text);

  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46 /* . */) {
    i++;
    let scale = 100;
    while (i < n) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
      i++;
    }
    ms = Math.trunc(ms);
  }

  const sign = text.charCodeAt(i);
  if (sign !== 43 /* + */ && sign !== 45 /* - */) return fallback(text);
  const rest = n - i - 1;
  // "HH", "HH:MM" or "HH:MM:SS" and nothing else (a trailing " BC" goes to the general parser).
  if (rest !== 2 && rest !== 5 && rest !== 8) return fallback(text);
  const offH = digits(text, i + 1, 2);
  const offM = rest >= 5 ? digits(text, i + 4, 2) : 0;
  const offS = rest === 8 ? digits(text, i + 7, 2) : 0;
  if ((offH | offM | offS) < 0) return fallback(text);
  const offsetMs = (offH * 3600 + offM * 60 + offS) * 1000 * (sign === 43 ? 1 : -1);

  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMs);
}

/** "YYYY-MM-DD HH:MM:SS": dashes, one space and colons where PostgreSQL puts them. */
function separatorsAt(text: string): boolean {
  return (
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 32 &&
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58
  );
}

/** The decimal number in `text[from, from + count)`, or -1 if any character is not a digit. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

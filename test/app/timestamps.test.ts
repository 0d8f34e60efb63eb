import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parseTimestamptz } from "../../app/db/timestamps.js";

const general = pg.types.getTypeParser(1184, "text") as (text: string) => Date | number | null;
const viaFallback: string[] = [];
const fallback = (text: string) => {
  viaFallback.push(text);
  return general(text);
};

let client: pg.Client;

beforeAll(async () => {
  // Raw text, exactly as PostgreSQL prints it: no parser of ours or pg's in between.
  client = new pg.Client({ connectionString: inject("postgresAdminUrl"), types: { getTypeParser: () => (v: string) => v } as never });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
});

/** PostgreSQL's own text output of `values` (timestamptz literals) in session time zone `zone`. */
async function printed(zone: string, values: string[]): Promise<string[]> {
  await client.query(`set time zone '${zone}'`);
  const { rows } = await client.query<{ t: string }>(`select unnest($1::timestamptz[])::text as t`, [values]);
  return rows.map((r) => r.t);
}

describe("parseTimestamptz reads what PostgreSQL prints, exactly like pg's general parser", () => {
  it("agrees on random instants in time zones with whole-hour, half-hour and historical second offsets", async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const instants: string[] = [];
    for (let i = 0; i < 400; i++) {
      const ms = Date.UTC(1900, 0, 1) + random() * (Date.UTC(2200, 0, 1) - Date.UTC(1900, 0, 1));
      // Microsecond digits of every length, including none.
      const micros = Math.floor(random() * 1_000_000);
      const digits = i % 7;
      const fraction = digits === 0 ? "" : "." + String(micros).padStart(6, "0").slice(0, digits);
      instants.push(new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, `${fraction}Z`));
    }
    // Europe/Amsterdam printed 1900-1937 with a +00:19:32 offset; Asia/Kolkata is +05:30.
    for (const zone of ["UTC", "Asia/Shanghai", "America/St_Johns", "Asia/Kolkata", "Europe/Amsterdam", "Pacific/Chatham"]) {
      const texts = await printed(zone, instants);
      viaFallback.length = 0;
      for (const text of texts) {
        expect(parseTimestamptz(text, fallback), `${zone}: ${text}`).toEqual(general(text));
      }
      expect(viaFallback, `${zone}: the fast path handled every value`).toEqual([]);
    }
  });

  it("hands what it does not read itself to the general parser", async () => {
    const texts = await printed("UTC", ["infinity", "-infinity", "0044-03-15 12:00:00 BC", "0099-01-01 00:00:00+00", "12345-06-07 08:09:10+00"]);
    viaFallback.length = 0;
    for (const text of texts) expect(parseTimestamptz(text, fallback)).toEqual(general(text));
    expect(viaFallback).toEqual(texts);
  });

  it("rejects lookalikes instead of misreading them", () => {
    viaFallback.length = 0;
    for (const text of ["2026-11-28T09:16:41+00", "2026/11/28 09:16:41+00", "2026-11-28 09:16:41", "2026-11-28 09:16:41+0", "2026-11-28 09:16:4x+00"]) {
      parseTimestamptz(text, fallback);
    }
    expect(viaFallback).toHaveLength(5);
  });
});

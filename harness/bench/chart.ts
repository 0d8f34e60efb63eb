import type { Level } from "./capacity-table.js";

/**
 * The capacity sweep as an SVG line chart, written by hand (no charting dependency): throughput
 * (left axis, linear) and p99 latency (right axis, logarithmic, so 5 ms and 2 s both read) against
 * concurrency (logarithmic: the levels double). Each point is the median of the rounds, with a bar
 * from the lowest to the highest round; a dashed line marks the p99 limit. A second sweep
 * (`compare`, e.g. one server beside two) is drawn in dashed lines of the same colours.
 */
export interface ChartOptions {
  title: string;
  subtitle?: string;
  p99LimitMs: number;
  /** The main sweep's name in the legend (with `compare`). */
  label?: string;
  compare?: { label: string; levels: Level[] };
}

const WIDTH = 760;
const HEIGHT = 420;
const PLOT = { left: 70, right: 690, top: 70, bottom: 350 };
const RPS_COLOUR = "#1f77b4";
const P99_COLOUR = "#d62728";

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

export function capacityChart(levels: Level[], options: ChartOptions): string {
  if (levels.length === 0) throw new Error("no levels to chart");
  const compared = options.compare?.levels ?? [];
  const every = [...levels, ...compared];
  const connections = [...new Set(every.map((l) => l.connections))].sort((a, b) => a - b);
  const xMin = Math.log2(Math.min(...connections));
  const xMax = Math.log2(Math.max(...connections));
  const x = (c: number) =>
    xMax === xMin
      ? (PLOT.left + PLOT.right) / 2
      : PLOT.left + ((Math.log2(c) - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left);
  const rpsTop = niceCeiling(Math.max(...every.map((l) => l.requestsPerSecond.max)) * 1.05);
  const yRps = (v: number) => PLOT.bottom - (v / rpsTop) * (PLOT.bottom - PLOT.top);
  const msValues = every.flatMap((l) => [l.p99Ms.min, l.p99Ms.max]).concat(options.p99LimitMs);
  const msLow = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...msValues))));
  const msHigh = 10 ** Math.ceil(Math.log10(Math.max(...msValues) * 1.01));
  const yMs = (v: number) =>
    PLOT.bottom -
    ((Math.log10(Math.max(v, msLow)) - Math.log10(msLow)) / (Math.log10(msHigh) - Math.log10(msLow))) *
      (PLOT.bottom - PLOT.top);

  const out: string[] = [];
  const text = (px: number, py: number, body: string, attrs = "") =>
    out.push(`<text x="${fmt(px)}" y="${fmt(py)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(body)}</text>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  text(WIDTH / 2, 24, options.title, 'text-anchor="middle" font-size="15" font-weight="bold"');
  if (options.subtitle) text(WIDTH / 2, 44, options.subtitle, 'text-anchor="middle" fill="#555555"');

  // Grid and axes: throughput ticks (left), latency decades (right), concurrency levels (bottom).
  for (let i = 0; i <= 5; i++) {
    const v = (rpsTop / 5) * i;
    out.push(`<line x1="${PLOT.left}" y1="${fmt(yRps(v))}" x2="${PLOT.right}" y2="${fmt(yRps(v))}" stroke="#eeeeee"/>`);
    text(PLOT.left - 6, yRps(v) + 4, fmt(v), `text-anchor="end" fill="${RPS_COLOUR}"`);
  }
  for (let v = msLow; v <= msHigh * 1.001; v *= 10)
    text(PLOT.right + 6, yMs(v) + 4, `${fmt(v)} ms`, `fill="${P99_COLOUR}"`);
  for (const c of connections) {
    text(x(c), PLOT.bottom + 18, String(c), 'text-anchor="middle"');
  }
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333333"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="${RPS_COLOUR}"/>`,
    `<line x1="${PLOT.right}" y1="${PLOT.top}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="${P99_COLOUR}"/>`,
  );
  text((PLOT.left + PLOT.right) / 2, PLOT.bottom + 38, "concurrent connections", 'text-anchor="middle"');
  text(
    18,
    (PLOT.top + PLOT.bottom) / 2,
    "requests per second",
    `text-anchor="middle" fill="${RPS_COLOUR}" transform="rotate(-90 18 ${(PLOT.top + PLOT.bottom) / 2})"`,
  );
  const rightLabelX = WIDTH - 10;
  text(
    rightLabelX,
    (PLOT.top + PLOT.bottom) / 2,
    "p99 latency (log scale)",
    `text-anchor="middle" fill="${P99_COLOUR}" transform="rotate(90 ${rightLabelX} ${(PLOT.top + PLOT.bottom) / 2})"`,
  );

  // The p99 limit.
  const limitY = fmt(yMs(options.p99LimitMs));
  out.push(
    `<line class="p99-limit" x1="${PLOT.left}" y1="${limitY}" x2="${PLOT.right}" y2="${limitY}" stroke="${P99_COLOUR}" stroke-dasharray="6 4" stroke-opacity="0.6"/>`,
  );
  text(PLOT.left + 6, Number(limitY) - 5, `p99 ${options.p99LimitMs} ms`, `fill="${P99_COLOUR}"`);

  // The two series: spread bars, the median line, the points.
  const series = (
    cls: string,
    colour: string,
    value: (l: Level) => { median: number; min: number; max: number },
    y: (v: number) => number,
    levels: Level[],
    dashed = false,
  ) => {
    // The compared sweep's bars a little to the right, so both spreads show at a shared level.
    const nudge = dashed ? 5 : 0;
    for (const l of levels) {
      const s = value(l);
      out.push(
        `<line class="${cls}-spread" x1="${fmt(x(l.connections) + nudge)}" y1="${fmt(y(s.min))}" x2="${fmt(x(l.connections) + nudge)}" y2="${fmt(y(s.max))}" stroke="${colour}" stroke-width="3" stroke-opacity="0.35"/>`,
      );
    }
    const points = levels.map((l) => `${fmt(x(l.connections))},${fmt(y(value(l).median))}`).join(" ");
    const dash = dashed ? ' stroke-dasharray="5 3"' : "";
    out.push(`<polyline class="${cls}" points="${points}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const l of levels)
      out.push(`<circle cx="${fmt(x(l.connections))}" cy="${fmt(y(value(l).median))}" r="3" fill="${colour}"/>`);
  };
  series("throughput", RPS_COLOUR, (l) => l.requestsPerSecond, yRps, levels);
  series("p99", P99_COLOUR, (l) => l.p99Ms, yMs, levels);
  if (options.compare) {
    series("throughput-compare", RPS_COLOUR, (l) => l.requestsPerSecond, yRps, compared, true);
    series("p99-compare", P99_COLOUR, (l) => l.p99Ms, yMs, compared, true);
    // Which line is which, at the bottom: solid the main sweep, dashed the compared one.
    const y = HEIGHT - 12;
    out.push(
      `<line x1="${PLOT.left}" y1="${y - 4}" x2="${PLOT.left + 24}" y2="${y - 4}" stroke="#333333" stroke-width="2"/>`,
    );
    text(PLOT.left + 30, y, options.label ?? "this sweep");
    out.push(
      `<line x1="${PLOT.left + 330}" y1="${y - 4}" x2="${PLOT.left + 354}" y2="${y - 4}" stroke="#333333" stroke-width="2" stroke-dasharray="5 3"/>`,
    );
    text(PLOT.left + 360, y, options.compare.label);
  }

  // Legend.
  const legendY = PLOT.top - 14;
  out.push(
    `<line x1="${PLOT.left}" y1="${legendY}" x2="${PLOT.left + 24}" y2="${legendY}" stroke="${RPS_COLOUR}" stroke-width="2"/>`,
  );
  text(PLOT.left + 30, legendY + 4, "throughput (median; bar: lowest–highest round)");
  out.push(
    `<line x1="${PLOT.left + 330}" y1="${legendY}" x2="${PLOT.left + 354}" y2="${legendY}" stroke="${P99_COLOUR}" stroke-width="2"/>`,
  );
  text(PLOT.left + 360, legendY + 4, "p99 latency");
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

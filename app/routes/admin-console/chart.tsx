/** Sign-ups per day as a bar chart, drawn on the server: SVG in the page, no script, no library. */
export function SignupChart({ days }: { days: Array<{ day: string; count: number }> }) {
  const width = 900;
  const height = 260;
  const pad = { left: 40, right: 10, top: 16, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = Math.max(1, ...days.map((d) => d.count));
  // Round the scale up to a whole number of grid steps so the labels are whole numbers.
  const step = Math.max(1, Math.ceil(max / 4));
  const top = step * 4;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => pad.top + plotH - (v / top) * plotH;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Sign-ups per day, ${days[0]?.day ?? ""} to ${days.at(-1)?.day ?? ""}`}
    >
      {[0, 1, 2, 3, 4].map((i) => (
        <g>
          <line class="axis" x1={pad.left} x2={width - pad.right} y1={y(i * step)} y2={y(i * step)} />
          <text x={pad.left - 6} y={y(i * step) + 4} text-anchor="end">
            {String(i * step)}
          </text>
        </g>
      ))}
      {days.map((d, i) => (
        <g>
          <rect
            class="bar"
            x={pad.left + i * slot + (slot - barW) / 2}
            y={y(d.count)}
            width={barW}
            height={Math.max(0, pad.top + plotH - y(d.count))}
          >
            <title>{`${d.day}: ${d.count}`}</title>
          </rect>
          {i % 5 === 0 || i === days.length - 1 ? (
            <text x={pad.left + i * slot + slot / 2} y={height - pad.bottom + 18} text-anchor="middle">
              {d.day.slice(5)}
            </text>
          ) : null}
        </g>
      ))}
    </svg>
  );
}

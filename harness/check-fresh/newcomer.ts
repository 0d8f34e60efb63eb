/**
 * What the new user types, from README's "Quick start", run in the container as that user:
 * `npm install && npm start` until /healthz answers (then stopped), then `npm test`.
 * Exit 0 only if both worked and install/start printed no `[ERROR]` line.
 */
export const NEWCOMER_SCRIPT = String.raw`
set -u
cd "$HOME/todo"
echo "== node $(node --version), npm $(npm --version), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "== npm install && npm start"
log=$(mktemp)
started=$(date +%s)
setsid bash -c 'npm install && npm start' >"$log" 2>&1 &
app=$!
tail -n +1 -f "$log" &
tailer=$!
healthy=0
while kill -0 "$app" 2>/dev/null && [ $(( $(date +%s) - started )) -lt 1200 ]; do
  if node -e "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"; then
    healthy=1
    break
  fi
  sleep 2
done
kill -TERM -- "-$app" 2>/dev/null
wait "$app" 2>/dev/null
sleep 1
kill "$tailer" 2>/dev/null
if [ "$healthy" = 1 ]; then
  echo "== /healthz answered 200, $(( $(date +%s) - started )) s after npm install && npm start began"
else
  echo "== /healthz never answered (npm install && npm start)"
  exit 1
fi
if grep -q '\[ERROR\]' "$log"; then
  echo "== npm install / npm start printed [ERROR] lines:"
  grep '\[ERROR\]' "$log"
  exit 1
fi
echo "== npm test"
tested=$(date +%s)
npm test
status=$?
echo "== npm test exited $status after $(( $(date +%s) - tested )) s"
exit "$status"
`;

export interface VitestCounts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

/** Reads vitest's "Tests  3 failed | 40 passed | 2 skipped (45)" line. */
export function parseVitestCounts(output: string): VitestCounts | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const line = plain.match(/^\s*Tests\s+(.*)\((\d+)\)\s*$/m);
  if (!line) return undefined;
  const count = (word: string) => Number(line[1]!.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  return {
    passed: count("passed"),
    failed: count("failed"),
    skipped: count("skipped") + count("todo"),
    total: Number(line[2]),
  };
}

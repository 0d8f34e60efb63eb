/**
 * `npx tsx local-cloud/main.ts [--port 4566] [--state file.json] [--log calls.jsonl] [--transition-ms 1000] [--answers key=value,…]`
 * starts the stand-in on 127.0.0.1 and prints how to point the provider at it. `--answers` answers
 * the questions the real API leaves open (answers.ts) other than by default.
 */
import { parseAnswers } from "./answers.js";
import { startLocalCloud } from "./server.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const cloud = await startLocalCloud({
  port: Number(arg("port") ?? 4566),
  file: arg("state"),
  logFile: arg("log"),
  transitionMs: arg("transition-ms") ? Number(arg("transition-ms")) : undefined,
  answers: parseAnswers(arg("answers")),
});
console.log(`local Volcengine listening on ${cloud.url}`);
console.log(
  `  export VOLCENGINE_PROXY_URL=${cloud.url} VOLCENGINE_DISABLE_SSL=true VOLCENGINE_ACCESS_KEY=AKLTlocal VOLCENGINE_SECRET_KEY=local`,
);
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => void cloud.close().then(() => process.exit(0)));

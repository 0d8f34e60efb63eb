// Runs inside the rehearsal server with its own Node.js: CLIENTS clients without keep-alive write
// (POST /api/v1/todos) straight to one instance on 127.0.0.1:PORT, no Nginx in front, while
// RESTART (a shell command: `systemctl restart todo-api@PORT`) runs. Prints one JSON line:
// requests, answered, failed after connecting, never connected, the errors seen.
//
//   TOKEN_FILE=... PORT=3001 RESTART='systemctl restart todo-api@3001' node restart-load.mjs
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";

const port = Number(process.env.PORT);
const token = readFileSync(process.env.TOKEN_FILE, "utf8").trim();
const clients = Number(process.env.CLIENTS ?? 50);
const outcomes = [];
let stopping = false;

const post = (title) =>
  new Promise((resolve) => {
    let connected = false;
    const body = JSON.stringify({ title });
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/api/v1/todos",
        agent: false,
        timeout: 30_000,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ connected, status: res.statusCode }));
      },
    );
    req.on("socket", (socket) => socket.once("connect", () => (connected = true)));
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (err) => resolve({ connected, error: err.code ?? err.message }));
    req.end(body);
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const until = async (condition) => {
  for (let i = 0; i < 3000 && !condition(); i++) await sleep(20);
};

const running = Array.from({ length: clients }, async (_, c) => {
  for (let n = 0; !stopping; n++) {
    const outcome = await post(`restart check ${c} #${n}`);
    outcomes.push(outcome);
    if (outcome.error) await sleep(20);
  }
});
await until(() => outcomes.length >= 200);
const before = outcomes.length;
const restart = await new Promise((resolve) =>
  execFile("/bin/sh", ["-c", process.env.RESTART], (err, stdout, stderr) =>
    resolve({ code: err ? (err.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() }),
  ),
);
const during = outcomes.length - before;
const after = outcomes.length;
await until(() => outcomes.length >= after + 200);
stopping = true;
await Promise.all(running);
const answered = outcomes.filter((o) => o.status === 201).length;
const failedConnected = outcomes.filter((o) => o.connected && o.status !== 201).length;
const refused = outcomes.filter((o) => !o.connected && o.status === undefined).length;
const errors = [...new Set(outcomes.map((o) => o.error ?? (o.status === 201 ? undefined : `HTTP ${o.status}`)))];
process.stdout.write(
  `${JSON.stringify({
    restart,
    requests: outcomes.length,
    answered,
    failedConnected,
    refused,
    duringRestart: during,
    errors: errors.filter(Boolean),
  })}\n`,
);

// What systemd does for a socket unit (app@.socket), reduced to what the app sees: this process
// binds and listens on 127.0.0.1 (an ephemeral port, printed as the first line of stdout as
// {"holder":{"port":N}}), then starts the command GENERATIONS times, one after the other, each
// with the listening socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to that process's pid (sh
// sets it, then execs the command, which keeps the pid). A generation starts as soon as the one
// before has exited, like `systemctl restart` or Restart=always.
//
//   node socket-holder.mjs GENERATIONS COMMAND [ARG...]
//
// The children are started with spawnSync, so this process's event loop never runs again after
// the socket is listening: it never accepts a connection itself, and connections that arrive
// while no child is running wait in the socket's backlog, as they do in systemd's.
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";

const [generations, ...command] = process.argv.slice(2);
if (!command.length || !(Number(generations) > 0)) {
  process.stderr.write("usage: node socket-holder.mjs GENERATIONS COMMAND [ARG...]\n");
  process.exit(2);
}
const server = createServer();
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ holder: { port: server.address().port } })}\n`);
  const fd = server._handle.fd;
  for (let i = 0; i < Number(generations); i++) {
    spawnSync("/bin/sh", ["-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$@"', "sh", ...command], {
      stdio: ["ignore", "inherit", "inherit", fd],
      env: { ...process.env, LISTEN_FDS: "1" },
    });
  }
  process.exit(0);
});

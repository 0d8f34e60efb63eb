import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Server as NetServer, type Socket } from "node:net";

/**
 * Graceful shutdown of an HTTP server without resetting a request a client has already sent.
 *
 * Node's own `server.close()` stops listening *and destroys every idle keep-alive connection at
 * once*: a proxy (Nginx keeps connections to each instance) that has just written a request on
 * such a connection gets a reset, and Nginx never retries a POST or PATCH that was sent. Here:
 *
 * - the listening socket closes first, so a new connection is refused (a proxy moves on to the
 *   next instance for every method: nothing was sent); when systemd owns the listening socket
 *   (socket activation, http/inherited-socket.ts) only this process's copy closes, and new
 *   connections wait in the socket's backlog for the next process;
 * - requests in flight finish; their responses (and those of requests that still arrive on a
 *   kept-alive connection) say `Connection: close`, and Node closes the connection after them;
 * - a connection idle at shutdown gets `idleGraceMs` to carry one more request; then idle ones
 *   are closed (when the release command drained the instance out of Nginx first, there are none);
 * - after `timeoutMs` whatever is left is destroyed, so shutdown is bounded.
 */
export interface ConnectionDrain {
  /** Resolves when every connection is closed; `forced` counts those destroyed at the deadline. */
  drain(options: { idleGraceMs: number; timeoutMs: number }): Promise<{ forced: number }>;
}

export function trackConnections(server: Server): ConnectionDrain {
  /** Open connections and how many requests each is answering now. */
  const busy = new Map<Socket, number>();
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  server.on("connection", (socket: Socket) => {
    busy.set(socket, 0);
    socket.once("close", () => busy.delete(socket));
  });
  // Before the app's own listener, so the flag is set before any response header is written.
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    inFlight.add(res);
    if (draining) res.shouldKeepAlive = false;
    res.once("close", () => {
      inFlight.delete(res);
      if (busy.has(socket)) busy.set(socket, Math.max(0, (busy.get(socket) ?? 1) - 1));
    });
  });

  const closeIdle = () => {
    for (const [socket, requests] of busy) if (requests === 0) socket.destroy();
  };

  return {
    drain({ idleGraceMs, timeoutMs }) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      return new Promise((resolve) => {
        let forced = 0;
        let sweep: NodeJS.Timeout | undefined;
        const timers: NodeJS.Timeout[] = [];
        const done = () => {
          timers.forEach(clearTimeout);
          clearInterval(sweep);
          resolve({ forced });
        };
        // net.Server's close, not http.Server's: that one would also destroy idle connections now.
        NetServer.prototype.close.call(server, done);
        timers.push(
          setTimeout(() => {
            closeIdle();
            // a response whose headers were already out when the drain began leaves its connection
            // open and idle afterwards: keep closing those
            sweep = setInterval(closeIdle, 50);
          }, idleGraceMs),
          setTimeout(() => {
            forced = busy.size;
            for (const socket of busy.keys()) socket.destroy();
          }, timeoutMs),
        );
      });
    },
  };
}

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Listens on an ephemeral port of 127.0.0.1, or of `host` (the rehearsal's end of its container network); answers the URL. */
export function listen(server: Server, host = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`)),
  );
}

import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay on the host's end of the VPC's uplink to a stand-in on 127.0.0.1 (the local cloud
 * listens on loopback only): the servers reach it through the NAT, as they reach Volcengine's
 * endpoints. Its address exists before the stand-in behind it does (the endpoints go into the
 * synthesized stack, whose resources the stand-in is then made from): until `target` is set, a
 * connection is closed at once, as an endpoint that is down.
 */
export class Relay {
  target: string | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(host: string): Promise<Relay> {
    let relay: Relay | undefined;
    const server = createServer((client) => relay!.forward(client));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const port = (server.address() as { port: number }).port;
    relay = new Relay(server, `http://${host}:${port}`);
    return relay;
  }

  private forward(client: Socket): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    const target = this.target ? new URL(this.target) : undefined;
    if (!target) return void client.destroy();
    const upstream = createConnection(Number(target.port), target.hostname);
    this.sockets.add(upstream);
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

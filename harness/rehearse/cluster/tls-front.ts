import { createConnection, type Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";

/**
 * The TLS front of Volcengine's endpoints on the host's end of the VPC's uplink (endpoints.ts):
 * it terminates TLS with the run's certificate and relays the plain bytes to the stand-in the
 * name asked for (SNI) serves, on 127.0.0.1 (the local cloud listens on loopback only). The
 * Host header and everything signed stay as the client sent them. Its address exists before the
 * stand-ins do (their resources come from the synthesized stack): until a name has a target, a
 * connection for it is closed at once, as an endpoint that is down.
 */
export class TlsFront {
  /** Host name (or `*.suffix`) → http://127.0.0.1:port of the stand-in. */
  readonly targets = new Map<string, string>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(host: string, port: number, cert: { certPem: string; keyPem: string }): Promise<TlsFront> {
    let front: TlsFront | undefined;
    const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (client) => front!.forward(client));
    front = new TlsFront(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return front;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The target for a name: exact, else the nearest `*.suffix`. */
  targetOf(name: string): string | undefined {
    const exact = this.targets.get(name);
    if (exact) return exact;
    for (let at = name.indexOf("."); at >= 0; at = name.indexOf(".", at + 1)) {
      const wild = this.targets.get(`*${name.slice(at)}`);
      if (wild) return wild;
    }
    return undefined;
  }

  private forward(client: TLSSocket): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => client.destroy());
    const name = (client as TLSSocket & { servername?: string }).servername || "";
    const target = this.targetOf(name);
    if (!target) return void client.destroy();
    const url = new URL(target);
    const upstream = createConnection(Number(url.port), url.hostname);
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

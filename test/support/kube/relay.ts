/**
 * A TCP relay on loopback in front of the API server, for the fencing tests: it can hold the
 * server's bytes (so a client's TLS handshake waits), and tells when a client opens a new
 * connection and sends its first bytes (a request under way: client-node opens one per request).
 */
import * as net from 'node:net';

export class Relay {
  readonly server: net.Server;
  hold = false;
  clientBytes = 0;
  connections = 0;
  /** Called once per connection, with the client's first bytes (its TLS client hello). */
  onFirstBytes: (() => void) | null = null;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(target.port, target.host);
      this.sockets.add(client).add(upstream);
      let first = true;
      client.on('data', (b) => {
        this.clientBytes += b.length;
        upstream.write(b);
        if (first) {
          first = false;
          this.onFirstBytes?.();
        }
      });
      upstream.on('data', (b) => {
        if (this.hold) this.held.push(() => client.write(b));
        else client.write(b);
      });
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
  }

  /** Sends what was held and stops holding. */
  release(): void {
    this.hold = false;
    for (const send of this.held.splice(0)) send();
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

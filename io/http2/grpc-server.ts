/**
 * A gRPC server for a handful of streaming methods, on our own HTTP/2 connections
 * (connection.ts) over `net` or `tls`: it routes a request by path to its handler and
 * answers what is not a gRPC call with the status the protocol asks for. It replaces
 * grpc-js's server where the number of connections, not the bytes on them, is the cost
 * (the control plane's agents: one connection each, 10,000 of them).
 *
 * Addresses are grpc-js's: `host:port`, `[v6]:port`, or `unix:///path` (port 0 asks for any).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { parseListen } from '../listen-address.js';
import { ServerConnection } from './connection.js';
import { GrpcServerCall, GrpcStatus } from './grpc-call.js';
import { headerValue, type HeaderList } from './hpack.js';
import type { H2Stream } from './stream.js';

export interface GrpcServerOptions {
  /** Handlers by path (`/package.Service/Method`); each gets the call at once, before any message. */
  readonly methods: ReadonlyMap<string, (call: GrpcServerCall) => void>;
  readonly maxReceiveMessageBytes: number;
  /** A peer broke the protocol (the connection is closed with GOAWAY). */
  readonly onProtocolError?: (peer: string, message: string) => void;
}

export interface GrpcTlsMaterial {
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** Client certificates are required and checked against this CA when given. */
  readonly clientCaPem: Buffer | null;
}

/** Headers that belong to the protocol, not to the call's metadata: not kept with the call. */
const PROTOCOL_HEADERS = new Set(['te', 'content-type', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'grpc-timeout', 'user-agent']);

/** The call's metadata: what is left of the request headers (one list per agent, 10,000 of them). */
function metadataOf(headers: HeaderList): HeaderList {
  return headers.filter(([name]) => !name.startsWith(':') && !PROTOCOL_HEADERS.has(name));
}

export class GrpcServer {
  private readonly o: GrpcServerOptions;
  private server: net.Server | null = null;
  private readonly connections = new Set<ServerConnection>();
  /** Set while close() waits for the last connection to go. */
  private onDrained: (() => void) | null = null;

  constructor(options: GrpcServerOptions) {
    this.o = options;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Binds; returns the bound port (0 for a unix socket). */
  async listen(address: string, material: GrpcTlsMaterial | null = null): Promise<number> {
    const onSocket = (socket: net.Socket): void => {
      const conn = new ServerConnection(socket, {
        onRequest: (stream, headers) => this.request(stream, headers),
        onClose: (c) => {
          this.connections.delete(c);
          if (this.connections.size === 0) this.onDrained?.();
        },
        onProtocolError: (c, e) => this.o.onProtocolError?.(c.peer, `${e.code}: ${e.message}`),
      });
      this.connections.add(conn);
    };
    const server = material
      ? tls.createServer(
          {
            cert: material.certPem,
            key: material.keyPem,
            ALPNProtocols: ['h2'],
            ...(material.clientCaPem !== null ? { ca: material.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
          },
          onSocket,
        )
      : net.createServer(onSocket);
    // A failed handshake is the client's problem; it must not reach the process.
    server.on('tlsClientError', () => undefined);
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      };
      if (address.startsWith('unix:')) {
        server.listen(address.replace(/^unix:(\/\/)?/, ''), done);
        return;
      }
      const listen = parseListen(address);
      if (!listen.ok) {
        reject(new Error(`${listen.error}, or unix:///path`));
        return;
      }
      server.listen({ host: listen.value.host, port: listen.value.port }, done);
    });
    server.on('error', () => undefined);
    this.server = server;
    return bound;
  }

  /**
   * Stops accepting, tells every connection to go away, and waits for them (up to `graceMs`,
   * then closes what is left). Calls should be ended by their owner before this.
   */
  async close(graceMs = 2000): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.connections.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((resolve) => {
        this.onDrained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      for (const c of this.connections) c.goAway();
      await drained;
      clearTimeout(timer);
      this.onDrained = null;
    }
    for (const c of this.connections) c.destroy();
    await closed;
  }

  private request(stream: H2Stream, headers: HeaderList): void {
    if (headerValue(headers, ':method') !== 'POST') {
      stream.respond([[':status', '405']], true);
      return;
    }
    const contentType = headerValue(headers, 'content-type') ?? '';
    if (!contentType.startsWith('application/grpc')) {
      stream.respond([[':status', '415']], true);
      return;
    }
    const call = new GrpcServerCall(stream, metadataOf(headers), this.o.maxReceiveMessageBytes);
    const encoding = headerValue(headers, 'grpc-encoding');
    if (encoding !== undefined && encoding !== 'identity') {
      call.fail(GrpcStatus.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported`);
      return;
    }
    const path = headerValue(headers, ':path') ?? '';
    const handler = this.o.methods.get(path);
    if (handler === undefined) {
      call.fail(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    handler(call);
  }
}

/**
 * A fence on a replica's writes to the API server (product.md "Kubernetes mode": a leader that
 * lost its Lease writes nothing more). A check of leadership before a request is not enough on
 * its own: client-node opens a new TLS connection per request, so between the check and the
 * request's bytes on the wire lie a TCP and TLS handshake, several turns of the event loop. A
 * process stopped there (SIGSTOP, a long GC pause, a frozen VM) sends the write when it
 * resumes, after another replica took over; the API server cannot refuse it, since a create
 * carries no precondition.
 *
 * So the fence is checked twice: before the request is made, and again once the connection
 * is established, synchronously right before the request is written to it (Node's request
 * is given its socket only then, and writes its buffered headers and body in the same tick as
 * the `socket` event). What stays open is the few microseconds of synchronous code between
 * that last check and the write system call.
 *
 * Only writes (POST, PUT, PATCH, DELETE) are fenced; reads and watches pass. A proxy agent
 * (kubeconfig proxy-url) keeps the first check only: its connection is its own business.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** The request was not sent: this replica may no longer write. */
export class FencedError extends Error {
  constructor(what: string) {
    super(`fenced: ${what} not sent, this replica no longer leads`);
    this.name = 'FencedError';
  }

  /** node-fetch wraps a request's error in its own and keeps only the code. */
  readonly code = FENCED_CODE;
}

const FENCED_CODE = 'EFENCED';

/** A FencedError, as thrown or as wrapped by the HTTP client. */
export const isFenced = (e: unknown): boolean => e instanceof FencedError || (e instanceof Error && (e as { code?: unknown }).code === FENCED_CODE);

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Oncreate = (err: Error | null, socket?: net.Socket) => void;
type CreateConnection = (options: unknown, oncreate?: Oncreate) => net.Socket | undefined;

/**
 * Makes `agent` (a plain http.Agent or https.Agent, one per request as client-node makes them)
 * hand a socket to its request only once connected (TLS established), and check `allow` right
 * before the request is written; a refused request is destroyed with a FencedError unsent.
 * Returns false when the agent is of another kind (left as it is).
 */
export function fenceAgent(agent: http.Agent, allow: () => boolean, what: string): boolean {
  const ctor = agent.constructor;
  if (ctor !== https.Agent && ctor !== http.Agent) return false;
  const a = agent as unknown as { createConnection: CreateConnection; addRequest: (req: http.ClientRequest, options: unknown) => void };
  const create = a.createConnection.bind(agent);
  const connectedEvent = ctor === https.Agent ? 'secureConnect' : 'connect';
  a.createConnection = (options, oncreate) => {
    const socket = create(options);
    if (socket === undefined || oncreate === undefined) return socket;
    let settled = false;
    const settle = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.off('error', settle);
      if (err !== null) {
        socket.destroy();
        oncreate(err);
      } else oncreate(null, socket);
    };
    socket.once(connectedEvent, () => settle(null));
    socket.once('error', settle);
    return undefined;
  };
  const add = a.addRequest.bind(agent);
  a.addRequest = (req, options) => {
    // First among the `socket` listeners: Node writes the request right after this event.
    req.prependOnceListener('socket', () => {
      if (!allow()) req.destroy(new FencedError(what));
    });
    add(req, options);
  };
  return true;
}

/**
 * A KubeConfig for a replica's writes: the same cluster, user and headers as `inner` (every
 * request is prepared by it), with every write fenced on `allow`. API clients made from it
 * (makeApiClient) refuse a write with a FencedError when `allow` is false before the request
 * or once its connection is up.
 */
export class WriteFencedKubeConfig extends KubeConfig {
  private readonly inner: KubeConfig;
  private readonly allow: () => boolean;

  constructor(inner: KubeConfig, allow: () => boolean) {
    super();
    this.inner = inner;
    this.allow = allow;
    this.loadFromOptions({ clusters: inner.clusters, contexts: inner.contexts, users: inner.users, currentContext: inner.currentContext });
  }

  override applyToFetchOptions(opts: Parameters<KubeConfig['applyToFetchOptions']>[0]): ReturnType<KubeConfig['applyToFetchOptions']> {
    return this.inner.applyToFetchOptions(opts);
  }

  override applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    return this.inner.applyToHTTPSOptions(opts);
  }

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    await this.inner.applySecurityAuthentication(context);
    const method = String(context.getHttpMethod());
    if (!WRITE_METHODS.has(method)) return;
    const what = `${method} ${new URL(context.getUrl()).pathname}`;
    if (!this.allow()) throw new FencedError(what);
    const agent = context.getAgent();
    if (agent !== undefined) fenceAgent(agent, this.allow, what);
  }
}

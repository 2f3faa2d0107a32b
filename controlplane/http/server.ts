/**
 * The control plane's HTTP server: the API (product.md "Interfaces", shapes in docs/api.md),
 * the WebSocket live stream, /metrics, /healthz, /readyz and the dashboard at `/`.
 * Mutating endpoints always need the bearer token (when one is configured); reads too,
 * unless reads are configured open. /metrics, /healthz, /readyz and the dashboard's static
 * files are open: they carry no contract data of their own.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/common/index.js';
import { authorize, type AccessDecision, type AccessRequest, type Authorizer } from '../access/authorizer.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import type { SnapshotMessage, StreamMessage } from '../../io/api-types.js';
import type { StreamHub } from '../live/stream-hub.js';
import type { OperatorAction } from '../../core/rollout/index.js';
import type { Journal } from '../state/journal.js';
import type { Reconciler } from '../rollout/reconciler.js';
import { contractJson, edgeJson, historyItemJson } from './api-json.js';
import type { MapApi } from './map-api.js';
import { contractFixJson } from './contract-fix.js';
import { broadeningJson } from './broadening.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import { serveStatic } from './static-files.js';
import { serveVendor } from './vendor-files.js';
import { readRequestBody } from './request-body.js';

const MAX_BODY_BYTES = 64 * 1024;
const ACTIONS: readonly OperatorAction[] = ['approve', 'pause', 'resume', 'rollback'];

export interface HttpServerOptions {
  readonly reconciler: Reconciler;
  readonly journal: Journal;
  readonly store: EvidenceStore;
  readonly hub: StreamHub<StreamMessage>;
  readonly registry: Registry;
  readonly authorizer: Authorizer;
  readonly openReads: boolean;
  readonly staticDir: string;
  readonly log: Logger;
  readonly ready: () => boolean;
  /** The first message a stream client gets. */
  readonly streamHello: () => SnapshotMessage;
  /** GET /api/v1/map and POST /api/v1/preview (controlplane/http/map-api.ts). */
  readonly mapApi?: MapApi;
  /** The policies already in force, for the fix and broadening reports (absent: none). */
  readonly baseline?: BaselineSource;
  /**
   * Makes an operator's action durable before it is acknowledged (Kubernetes mode: the
   * contract's status names it); rejects when it could not. Default: the journal already is.
   */
  readonly persistAction?: (contract: string) => Promise<void>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/** 401 for no or a bad token, 403 for a known caller who may not do this (Kubernetes mode). */
function sendRefusal(res: http.ServerResponse, d: AccessDecision): void {
  if (d.outcome === 'forbidden') sendError(res, 403, 'PERMISSION_DENIED', d.message ?? 'not allowed');
  else sendError(res, 401, 'UNAUTHENTICATED', 'a valid bearer token is required (Authorization: Bearer <token>)');
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="rampart"');
  sendJson(res, status, { error: { code, message } });
}

/**
 * The caller's bearer token: the Authorization header; else X-Rampart-Authorization (the API
 * server's Service proxy drops Authorization, so `kubectl rampart preview` sends the user's
 * own token there); else, for the WebSocket only, `?token=` (browsers cannot set its headers).
 */
function authHeader(req: http.IncomingMessage, url: URL | null): string | undefined {
  const h = req.headers.authorization;
  if (h !== undefined) return h;
  const forwarded = req.headers['x-rampart-authorization'];
  if (typeof forwarded === 'string' && forwarded !== '') return forwarded;
  const t = url?.searchParams.get('token') ?? null;
  return t === null ? undefined : `Bearer ${t}`;
}

export class ControlplaneHttpServer {
  private readonly o: HttpServerOptions;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;

  constructor(options: HttpServerOptions) {
    this.o = options;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.o.log.error('http handler failed', { err: { message: e instanceof Error ? e.message : String(e) } });
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
        else res.end();
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/api/v1/stream') {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      const upgrade = (): void => {
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          this.o.hub.add(ws, this.o.streamHello());
        });
      };
      if (this.o.openReads) {
        upgrade();
        return;
      }
      authorize(this.o.authorizer, authHeader(req, url), { kind: 'read', contract: null }).then(
        (d) => {
          if (d.outcome === 'allowed') upgrade();
          else if (d.outcome === 'forbidden') socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
          else socket.end('HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm="rampart"\r\nconnection: close\r\n\r\n');
        },
        () => socket.destroy(),
      );
    });
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    this.o.hub.closeAll();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const p = url.pathname;
    if (p === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (p === '/readyz') {
      const ready = this.o.ready();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      return;
    }
    if (p === '/metrics') {
      const text = await this.o.registry.metrics();
      res.writeHead(200, { 'content-type': this.o.registry.contentType });
      res.end(text);
      return;
    }
    if (p.startsWith('/api/')) {
      await this.api(req, res, url, method, p);
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
      return;
    }
    if (!serveVendor(p, res) && !serveStatic(this.o.staticDir, p, res)) sendError(res, 404, 'NOT_FOUND', `no such path ${p}`);
  }

  /**
   * The one gate of every API route: the authorizer (in Kubernetes mode TokenReview, then
   * SubjectAccessReview for what is asked; else the token file). Reads pass without a token
   * under --open-reads; `mutating` requests never do. Returns the decision, or null once the
   * refusal has been sent.
   */
  private async admit(req: http.IncomingMessage, res: http.ServerResponse, asked: AccessRequest, mutating = false): Promise<AccessDecision | null> {
    if (this.o.openReads && !mutating && asked.kind === 'read') return { outcome: 'allowed', user: null };
    const d = await authorize(this.o.authorizer, authHeader(req, null), asked);
    if (d.outcome !== 'allowed') {
      sendRefusal(res, d);
      return null;
    }
    return d;
  }

  private async api(req: http.IncomingMessage, res: http.ServerResponse, url: URL, method: string, p: string): Promise<void> {
    let parts: string[];
    try {
      parts = p.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s)); // ['api','v1','contracts',name?,sub?]
    } catch {
      sendError(res, 400, 'INVALID_ARGUMENT', `malformed path ${p}`);
      return;
    }
    if (parts[1] === 'v1' && parts[2] === 'agents' && parts.length === 3) {
      if ((await this.admit(req, res, { kind: 'read', contract: null })) === null) return;
      if (method !== 'GET') {
        sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${p}`);
        return;
      }
      const nowMs = Date.now();
      const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
      sendJson(res, 200, {
        items: this.o.store.agents(nowMs).map((a) => ({
          node: a.node,
          connected: a.connected,
          streams: a.streams,
          lastSeenAt: iso(a.lastSeenMs),
          lastReportAt: iso(a.lastReportMs),
          lastReportAgeMs: a.lastReportAgeMs,
          hubbleConnected: a.hubbleConnected,
        })),
      });
      return;
    }
    if (parts[1] === 'v1' && (parts[2] === 'map' || parts[2] === 'preview') && parts.length === 3 && this.o.mapApi !== undefined) {
      // A preview changes nothing: it is a read, like the map (of the contract named, if any).
      if ((await this.admit(req, res, { kind: 'read', contract: parts[2] === 'map' ? url.searchParams.get('contract') : null })) === null) return;
      await this.o.mapApi.handle(req, res, url, method, parts[2]);
      return;
    }
    if (parts[1] !== 'v1' || parts[2] !== 'contracts' || parts.length > 5) {
      sendError(res, 404, 'NOT_FOUND', `no such API path ${p}`);
      return;
    }
    const name = parts[3];
    const sub = parts[4];
    const mutating = method === 'POST';
    const asked: AccessRequest =
      mutating && name !== undefined && sub !== undefined && (ACTIONS as readonly string[]).includes(sub)
        ? { kind: 'action', action: sub as OperatorAction, contract: name }
        : { kind: 'read', contract: name ?? null };
    const decision = await this.admit(req, res, asked, mutating);
    if (decision === null) return;
    const caller = decision.user;
    const r = this.o.reconciler;
    if (method === 'GET' && name === undefined) {
      sendJson(res, 200, { items: r.list().map((v) => contractJson(v, this.o.journal.history(v.name))) });
      return;
    }
    if (name === undefined) {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${p}`);
      return;
    }
    const view = r.get(name);
    if (method === 'GET') {
      if (!view) {
        sendError(res, 404, 'NOT_FOUND', `no contract ${JSON.stringify(name)}`);
        return;
      }
      if (sub === undefined) sendJson(res, 200, contractJson(view, this.o.journal.history(name)));
      else if (sub === 'history') sendJson(res, 200, { items: this.o.journal.history(name).map(historyItemJson) });
      else if (sub === 'edges') {
        const limit = Number(url.searchParams.get('limit') ?? '100');
        const n = Number.isInteger(limit) && limit > 0 ? Math.min(limit, 2000) : 100;
        sendJson(res, 200, { items: this.o.store.edges(name, n).map((x) => edgeJson(x.edge, x.kind)) });
      } else if (sub === 'fix') sendJson(res, 200, contractFixJson(view, this.o.store, this.o.baseline));
      else if (sub === 'broadening') sendJson(res, 200, broadeningJson(view, this.o.store, this.o.baseline));
      else sendError(res, 404, 'NOT_FOUND', `no such API path ${p}`);
      return;
    }
    if (method !== 'POST' || sub === undefined || !(ACTIONS as readonly string[]).includes(sub)) {
      sendError(res, method === 'POST' ? 404 : 405, method === 'POST' ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED', `${method} ${p}: expected POST /api/v1/contracts/{name}/{approve|pause|resume|rollback}`);
      return;
    }
    let body: Record<string, unknown> = {};
    const read = await readRequestBody(req, res, MAX_BODY_BYTES);
    if (!read.ok) {
      sendError(res, read.status, 'INVALID_ARGUMENT', read.message);
      return;
    }
    try {
      const text = read.text;
      if (text.trim() !== '') {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
        body = parsed as Record<string, unknown>;
      }
    } catch (e) {
      sendError(res, 400, 'INVALID_ARGUMENT', `request body: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const headerActor = req.headers['x-rampart-actor'];
    // A caller the API server vouched for (Kubernetes mode) is the actor; else what the client says.
    const actor = caller !== null ? caller : typeof body['actor'] === 'string' && body['actor'] !== '' ? body['actor'] : typeof headerActor === 'string' && headerActor !== '' ? headerActor : 'api';
    const reason = typeof body['reason'] === 'string' && body['reason'] !== '' ? body['reason'] : null;
    const result = r.act(name, sub as OperatorAction, actor.slice(0, 200), reason === null ? null : reason.slice(0, 1000));
    if (!result.ok) {
      sendError(res, result.status, result.status === 404 ? 'NOT_FOUND' : 'CONFLICT', result.message);
      return;
    }
    if (this.o.persistAction) {
      try {
        await this.o.persistAction(name);
      } catch (e) {
        // Recorded here but not (yet) in the cluster's record: say so rather than acknowledge.
        sendError(res, 503, 'UNAVAILABLE', `${sub} recorded, but the contract status could not be written yet (it is retried): ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
    }
    const after = r.get(name);
    sendJson(res, 200, { transition: historyItemJson(result.entry), contract: after ? contractJson(after, this.o.journal.history(name)) : null });
  }
}

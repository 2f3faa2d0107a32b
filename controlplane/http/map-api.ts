/**
 * `GET /api/v1/map?contract=<name>&since=<dur>` and `POST /api/v1/preview` (product.md
 * "Traffic map, preview, admission"; shapes in docs/api.md). The server checks the token
 * before handing a request here.
 *
 * Without `contract` the map is judged under the baseline alone (`allow`, `denied` or
 * `indeterminate`); with one, each edge says what the contract changes (`allow`,
 * `would-deny`, `already-denied`, `newly-allowed`, `indeterminate`). A preview judges a
 * RampContract sent in the body (YAML or JSON) the same way, before any monitor stage runs.
 */
import type * as http from 'node:http';
import { parseDurationMs, type Clock } from '../../core/common/index.js';
import { parseContract, type Contract } from '../../core/contract/index.js';
import type { MapService } from '../map/map-service.js';
import { parseYamlDocuments } from '../../io/yaml-documents.js';
import { readRequestBody } from './request-body.js';

export const MAX_PREVIEW_BYTES = 1024 * 1024;

export interface MapApiOptions {
  readonly map: MapService;
  readonly clock: Clock;
  /** The contract of that name as the registry holds it (its current, or last valid, document). */
  readonly contract: (name: string) => Contract | null;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function fail(res: http.ServerResponse, status: number, code: string, message: string, problems?: readonly { path: string; message: string }[]): void {
  send(res, status, { error: { code, message, ...(problems ? { problems } : {}) } });
}

/** Parses a RampContract sent as YAML or JSON, with problems by field path (and YAML line). */
export function parseContractText(text: string): { ok: true; contract: Contract } | { ok: false; problems: { path: string; message: string }[] } {
  if (text.trim() === '') return { ok: false, problems: [{ path: '(body)', message: 'expected a RampContract (YAML or JSON)' }] };
  // The shared reader bounds aliases (a nested-alias bomb is a problem, not a thrown error).
  const docs = parseYamlDocuments(text, '(body)');
  if (!docs.ok) return { ok: false, problems: docs.error.map((p) => ({ path: p.path.replace(/^\(body\):/, '(body) line '), message: p.message })) };
  const values = docs.value.map((d) => d.value).filter((v) => v !== null && v !== undefined);
  if (values.length !== 1) return { ok: false, problems: [{ path: '(body)', message: `expected one RampContract document, got ${values.length}` }] };
  const parsed = parseContract(values[0]);
  if (!parsed.ok) return { ok: false, problems: parsed.error.map((p) => ({ path: p.path, message: p.message })) };
  return { ok: true, contract: parsed.value };
}

export class MapApi {
  private readonly o: MapApiOptions;

  constructor(options: MapApiOptions) {
    this.o = options;
  }

  private since(url: URL, res: http.ServerResponse): number | null {
    const text = url.searchParams.get('since');
    const nowMs = this.o.clock.nowMs();
    if (text === null || text === '') return nowMs - this.o.map.map.retentionMs;
    const d = parseDurationMs(text);
    if (!d.ok) {
      fail(res, 400, 'INVALID_ARGUMENT', `since: ${d.error}`);
      return null;
    }
    return nowMs - Math.min(d.value, this.o.map.map.retentionMs);
  }

  /** `what` is `map` or `preview`. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, method: string, what: string): Promise<void> {
    if (what === 'map') {
      if (method !== 'GET') {
        fail(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on /api/v1/map`);
        return;
      }
      const sinceMs = this.since(url, res);
      if (sinceMs === null) return;
      const name = url.searchParams.get('contract');
      let contract: Contract | null = null;
      if (name !== null && name !== '') {
        contract = this.o.contract(name);
        if (contract === null) {
          fail(res, 404, 'NOT_FOUND', `no valid contract ${JSON.stringify(name)}`);
          return;
        }
      }
      send(res, 200, this.o.map.judged(contract, sinceMs));
      return;
    }
    if (method !== 'POST') {
      fail(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on /api/v1/preview: POST a RampContract (YAML or JSON)`);
      return;
    }
    const sinceMs = this.since(url, res);
    if (sinceMs === null) return;
    const body = await readRequestBody(req, res, MAX_PREVIEW_BYTES);
    if (!body.ok) {
      fail(res, body.status, 'INVALID_ARGUMENT', body.message);
      return;
    }
    const parsed = parseContractText(body.text);
    if (!parsed.ok) {
      fail(res, 400, 'INVALID_ARGUMENT', `not a valid RampContract: ${parsed.problems[0]!.path}: ${parsed.problems[0]!.message}`, parsed.problems);
      return;
    }
    send(res, 200, this.o.map.judged(parsed.contract, sinceMs));
  }
}

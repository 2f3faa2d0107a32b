/**
 * The validating admission webhook (product.md "Traffic map, preview, admission"): for a
 * `networking.k8s.io/v1` NetworkPolicy created, updated or deleted by someone other than
 * Rampart (a deletion can deny too, when the policy was the allow beside an isolating one), it
 * judges the traffic map under the policies in force before and after the change, and when
 * edges seen in the map would be newly denied it allows with warnings (each ≤ 120
 * characters, naming the top edges) or, in a namespace labelled
 * `rampart.dev/admission: enforce`, refuses.
 *
 * It never stands in the way when it cannot judge: a review it does not understand, a policy
 * core/policy cannot parse, or a namespace it cannot read is allowed (deploy/ registers it
 * with `failurePolicy: Ignore` too). The work is bounded (MAX_JUDGED_EDGES, JUDGE_BUDGET_MS)
 * so it answers well within the API server's timeout (at most 5 s) whatever the map's size.
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../core/common/index.js';
import { parsePolicy, policyRef, ciliumDepartures } from '../../core/policy/index.js';
import type { ListenAddress } from '../../io/listen-address.js';
import type { MapService, NewlyDeniedEdge } from '../map/map-service.js';
import { namespaceLabelReader, type NamespaceLabels } from './namespace-labels.js';
import { readRequestBody } from '../http/request-body.js';

export const MAX_WARNING_CHARS = 120;
export const MAX_WARNINGS = 4;
export const MAX_JUDGED_EDGES = 50_000;
export const JUDGE_BUDGET_MS = 1500;
export const ENFORCE_LABEL = 'rampart.dev/admission';
const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export interface WebhookOptions {
  readonly listen: ListenAddress;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly kubeconfig: string | null;
  readonly map: MapService;
  readonly log: Logger;
  /** Tests inject a reader; otherwise the API when configured, else the map's identities. */
  readonly namespaces?: NamespaceLabels;
  /** Called with each review's duration and result (metrics). */
  readonly observe?: (seconds: number, result: 'allowed' | 'warned' | 'refused' | 'error') => void;
}

export interface WebhookHandle {
  readonly port: number;
  /** Milliseconds each review took, most recent last (bounded), for the benchmark and logs. */
  readonly latenciesMs: readonly number[];
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});

// NOTE: ASCII only: warnings travel in HTTP `Warning` headers, which clients decode as latin-1.
const edgeText = (e: NewlyDeniedEdge): string => `${e.from} -> ${e.to}:${e.port}/${e.protocol}`;

export function cut(text: string, max = MAX_WARNING_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The warnings for a change that would newly deny `edges` (largest first). */
export function warningsFor(ref: string, edges: readonly NewlyDeniedEdge[], partial: boolean): string[] {
  const shown = edges.slice(0, MAX_WARNINGS - 1);
  const head = `rampart: ${ref} would newly deny ${edges.length}${partial ? '+' : ''} edge${edges.length === 1 ? '' : 's'} seen in live traffic`;
  return [cut(head), ...shown.map((e) => cut(`rampart: would deny ${edgeText(e)} (${e.count} seen)`))];
}

export interface ReviewOutcome {
  readonly response: Obj;
  readonly newlyDenied: number;
}

/** Answers one AdmissionReview (admission.k8s.io/v1). */
export async function review(body: unknown, map: MapService, namespaces: NamespaceLabels, log: Logger): Promise<ReviewOutcome> {
  const req = obj(obj(body)['request']);
  const uid = typeof req['uid'] === 'string' ? req['uid'] : '';
  const allow = (extra: Obj = {}): ReviewOutcome => ({ response: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, ...extra } }, newlyDenied: 0 });
  const kind = obj(req['kind']);
  const reviewed = (kind['group'] === 'networking.k8s.io' && kind['kind'] === 'NetworkPolicy') || (kind['group'] === 'cilium.io' && (kind['kind'] === 'CiliumNetworkPolicy' || kind['kind'] === 'CiliumClusterwideNetworkPolicy'));
  if (!reviewed) return allow();
  const clusterwide = kind['kind'] === 'CiliumClusterwideNetworkPolicy';
  const operation = req['operation'];
  if (operation !== 'CREATE' && operation !== 'UPDATE' && operation !== 'DELETE') return allow();
  // A deletion is judged on the policy as it was: removing an allow can deny traffic too.
  const object = obj(operation === 'DELETE' ? req['oldObject'] : req['object']);
  const labels = obj(obj(object['metadata'])['labels']);
  if (labels['app.kubernetes.io/managed-by'] === 'rampart') return allow();
  const namespace = clusterwide ? '' : typeof req['namespace'] === 'string' && req['namespace'] !== '' ? req['namespace'] : typeof obj(object['metadata'])['namespace'] === 'string' ? (obj(object['metadata'])['namespace'] as string) : 'default';
  const manifest = clusterwide ? object : { ...object, metadata: { ...obj(object['metadata']), namespace } };
  const parsed = parsePolicy(manifest, 'object');
  if (!parsed.ok) {
    log.info('admission: policy not judged', { problems: parsed.error.slice(0, 3) });
    return allow();
  }
  const ref = policyRef(parsed.value);
  // Where Cilium enforces a NetworkPolicy other than its text says, the user is told (netpol.md 4).
  const departures = ciliumDepartures([parsed.value], () => 'object').map((p) => cut(`rampart: ${p.message}`));
  const judged = map.newlyDenied({ policy: parsed.value, deleted: operation === 'DELETE' }, { maxEdges: MAX_JUDGED_EDGES, budgetMs: JUDGE_BUDGET_MS });
  if (judged.edges.length === 0) return departures.length > 0 && operation !== 'DELETE' ? allow({ warnings: departures.slice(0, MAX_WARNINGS) }) : allow();
  const warnings = warningsFor(operation === 'DELETE' ? `deleting ${ref}` : ref, judged.edges, judged.partial);
  let enforce = false;
  try {
    // A CCNP has no namespace of its own: it is refused nowhere (warnings only).
    const nsLabels = namespace === '' ? null : await namespaces.labels(namespace);
    enforce = nsLabels?.[ENFORCE_LABEL] === 'enforce';
  } catch (e) {
    // Cannot tell: allow with the warnings (fail open, like failurePolicy: Ignore).
    log.warn('admission: namespace labels unavailable; not refusing', { namespace, err: { message: e instanceof Error ? e.message : String(e) } });
  }
  if (!enforce) return { ...allow({ warnings }), newlyDenied: judged.edges.length };
  const top = judged.edges[0]!;
  return {
    response: {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid,
        allowed: false,
        warnings,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `rampart: ${operation === 'DELETE' ? `deleting ${ref}` : ref} would newly deny ${judged.edges.length} edge(s) seen in live traffic, e.g. ${edgeText(top)} (${top.count} seen); namespace ${namespace} has ${ENFORCE_LABEL}=enforce (use a RampContract to roll it out)`,
        },
      },
    },
    newlyDenied: judged.edges.length,
  };
}

export async function startWebhook(o: WebhookOptions): Promise<WebhookHandle> {
  const namespaces = o.namespaces ?? namespaceLabelReader({ kubeconfig: o.kubeconfig, map: o.map, log: o.log });
  const latencies: number[] = [];
  const server = https.createServer({ cert: fs.readFileSync(o.tlsCertFile), key: fs.readFileSync(o.tlsKeyFile) }, (req, res) => {
    const started = performance.now();
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST') {
      reply(405, { error: 'POST an admission.k8s.io/v1 AdmissionReview' });
      return;
    }
    void readRequestBody(req, res, MAX_REVIEW_BYTES).then((read) => {
      if (!read.ok) {
        reply(read.status, { error: read.message });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(read.text);
      } catch (e) {
        reply(400, { error: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
        return;
      }
      review(body, o.map, namespaces, o.log).then(
        (out) => {
          reply(200, out.response);
          const ms = performance.now() - started;
          const answer = obj(out.response['response']);
          o.observe?.(ms / 1000, answer['allowed'] === false ? 'refused' : Array.isArray(answer['warnings']) ? 'warned' : 'allowed');
          latencies.push(ms);
          if (latencies.length > 1000) latencies.splice(0, latencies.length - 1000);
          o.log.info('admission review', { allowed: obj(out.response['response'])['allowed'], newlyDenied: out.newlyDenied, elapsedMs: Math.round(ms * 10) / 10 });
        },
        (e: unknown) => {
          o.log.error('admission review failed', { err: { message: e instanceof Error ? e.message : String(e) } });
          o.observe?.((performance.now() - started) / 1000, 'error');
          reply(500, { error: 'internal error' });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info('admission webhook listening', { address: `${o.listen.host}:${port}` });
  return {
    port,
    latenciesMs: latencies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

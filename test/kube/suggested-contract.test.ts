/**
 * What `suggest` and `fix` write is accepted by the real API server as a RampContract (the CRD
 * schema and its CEL bounds), for a simulated cluster's traffic, the demo's Blocked contract
 * with its fix appended, a large suggestion split to the CRD's per-direction bounds, and the
 * suggestion from test/fixtures/apps/mall's manifests (world ipBlocks, a headless StatefulSet,
 * CronJobs), created with strict field validation so nothing suggest writes is pruned.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { inferFromManifests, ObservationSet, smallestFix, suggestFromObservations } from '../../core/authoring/index.js';
import { parseContract } from '../../core/contract/index.js';
import { ConnectionTracker, parseHubbleLine, type Flow } from '../../core/flow/index.js';
import { createEvaluator } from '../../core/policy/index.js';
import { writeCapture } from '../../sim/capture.js';
import { demoDir, loadClusterSpec } from '../../sim/load-spec.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const api = customObjects(kc);

function capture(): Flow[] {
  const spec = loadClusterSpec(join(demoDir(), 'cluster.yaml'));
  if (!spec.ok) throw new Error('spec');
  const flows: Flow[] = [];
  writeCapture({
    spec: spec.value,
    // Over four minutes: the demo's invoicing CronJob runs every 3 (its connection is what the fix adds).
    durationMs: 240_000,
    seed: 9,
    endMs: Date.parse('2026-06-01T12:00:00Z'),
    write: (l) => {
      const r = parseHubbleLine(l);
      if (r.ok && r.value.kind === 'flow') flows.push(r.value.flow);
    },
  });
  return flows;
}

const create = (doc: Record<string, unknown>) => api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: doc });

describe('suggested contracts on the real API server', () => {
  const flows = capture();
  beforeAll(async () => {
    await installCrd(kc);
  });

  it('accepts a suggestion from simulated traffic', async () => {
    const obs = new ObservationSet();
    for (const f of flows) obs.addFlow(f);
    const r = suggestFromObservations(obs, { name: uniqueName('suggested') });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const stored = (await create(r.value.contract)) as { spec: { policies: unknown[] } };
    expect(stored.spec.policies).toHaveLength(r.value.policies.length);
  });

  it('accepts the suggestion from the mall app manifests, every field kept', async () => {
    const dir = join(import.meta.dirname, '..', 'fixtures', 'apps', 'mall', 'manifests');
    const objects = readdirSync(dir)
      .sort()
      .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Record<string, unknown>));
    const obs = new ObservationSet();
    const inferred = inferFromManifests(objects, obs);
    const r = suggestFromObservations(obs, { name: uniqueName('mall'), controllerSelectors: inferred.controllerSelectors });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const stored = (await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: r.value.contract, fieldValidation: 'Strict' })) as { spec: { policies: unknown[] } };
    expect(stored.spec.policies).toEqual(r.value.policies);
  });

  it('accepts the demo Blocked contract with its fix appended', async () => {
    const doc = parse(readFileSync(join(demoDir(), 'contracts', 'payments-lockdown.yaml'), 'utf8')) as { metadata: { name: string }; spec: { policies: unknown[] } };
    const c = parseContract(doc);
    if (!c.ok) throw new Error('contract');
    const ev = createEvaluator(c.value.spec.policies);
    const tracker = new ConnectionTracker();
    const denied = flows.filter((f) => {
      const k = tracker.classify(f);
      return k.kind === 'connection' && ev.evaluate(f, k).verdict === 'deny';
    });
    const fix = smallestFix(c.value.spec.policies, denied);
    if (!fix.ok) throw new Error(JSON.stringify(fix.error));
    expect(fix.value.policies.length).toBeGreaterThan(0);
    doc.metadata.name = uniqueName('fixed');
    doc.spec.policies.push(...fix.value.policies);
    await create(doc as unknown as Record<string, unknown>);
  });

  it('accepts a large suggestion split to the CRD bounds (rules, peers and ports per rule)', async () => {
    const obs = new ObservationSet();
    const client = flows.find((f) => f.source.kind === 'pod' && f.source.namespace === 'shop')!.source;
    for (let i = 0; i < 200; i++) {
      const base = flows[0]!;
      obs.addConnection({
        ...base,
        source: client,
        destination: { kind: 'external', id: null, identity: 2, labels: ['reserved:world'] },
        ip: { source: '10.244.0.9', destination: `203.0.${Math.floor(i / 50)}.${(i % 50) + 1}`, version: 4 },
        l4: { protocol: 'TCP', sourcePort: 40000 + i, destinationPort: 1000 + (i % 40), flags: { SYN: true, ACK: false, FIN: false, RST: false }, icmpType: null, icmpCode: null },
      });
    }
    const r = suggestFromObservations(obs, { name: uniqueName('large') });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.policies.length).toBeGreaterThan(3);
    await create(r.value.contract);
  });
});

/**
 * `suggest --manifests` without traffic: connections inferred from Service names in env, args
 * and ConfigMaps, to the Service's pods on the targetPort resolved to the container port
 * (never the Service port), LoadBalancer Services open to anyone, DNS for every caller,
 * selectors from the controllers' spec.selector; and the suggestion round-trips over the
 * connections it inferred.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { inferFromManifests, ObservationSet, suggestFromObservations } from '../../../../core/authoring/index.js';
import { parseContract } from '../../../../core/contract/index.js';

const DIR = fileURLToPath(new URL('../../../fixtures/manifests/shop/', import.meta.url));
const objects = readdirSync(DIR)
  .sort()
  .flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJS() as Record<string, unknown>));

describe('inferFromManifests', () => {
  const obs = new ObservationSet();
  const inferred = inferFromManifests(objects, obs);

  it('finds who calls whom, on the container port', () => {
    const edges = inferred.edges.map((e) => `${e.from} → ${e.to}:${e.port}/${e.protocol}`).sort();
    expect(edges).toEqual([
      'data/db → kube-system/coredns:53/UDP',
      'shop/api → data/db:5432/TCP',
      'shop/api → kube-system/coredns:53/UDP',
      'shop/web → kube-system/coredns:53/UDP',
      'shop/web → shop/api:9000/TCP',
      'world (Service shop/web is LoadBalancer) → shop/web:8080/TCP',
    ]);
    expect(inferred.publicEntryPoints).toEqual([{ workload: 'shop/web', namespace: 'shop', labels: { app: 'web', version: 'v3' }, ports: [{ protocol: 'TCP', port: 8080 }], reason: 'Service shop/web is LoadBalancer' }]);
    // "cache" names no Service; the Service port 80 of api is never used as a rule port.
    expect(inferred.edges.some((e) => e.port === 80)).toBe(false);
    expect(inferred.controllerSelectors.get('shop/api')).toEqual({ app: 'api', tier: 'backend' });
  });

  it('suggests a valid contract from them that admits exactly those connections', () => {
    const r = suggestFromObservations(obs, { controllerSelectors: inferred.controllerSelectors });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(parseContract(r.value.contract).ok).toBe(true);
    expect(r.value.report.verification).toMatchObject({ deny: 0, indeterminate: 0 });
    const byName = new Map(r.value.policies.map((p) => [`${(p['metadata'] as { namespace: string }).namespace}/${(p['metadata'] as { name: string }).name}`, p]));
    const web = byName.get('shop/web')!;
    // Open to the world (ipBlocks, so no pod of the cluster) on the container port, and only there.
    expect((web['spec'] as { ingress: unknown[] }).ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
    // Selectors: the controller's, without the rollout-specific version label.
    expect((byName.get('shop/api')!['spec'] as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { app: 'api', tier: 'backend' } });
    expect(JSON.stringify(r.value.policies)).not.toContain('version');
    expect(JSON.stringify(byName.get('data/db'))).toContain('"kubernetes.io/metadata.name":"shop"');
    expect(JSON.stringify(byName.get('shop/allow-dns'))).toContain('"protocol":"TCP","port":53');
  });

  it('a bare Service name does not cross namespaces, and a wrong :port names nothing', () => {
    const o = new ObservationSet();
    const caller = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'c', namespace: 'other' }, spec: { selector: { matchLabels: { app: 'c' } }, template: { metadata: { labels: { app: 'c' } }, spec: { containers: [{ name: 'c', env: [{ name: 'A', value: 'api:80' }, { name: 'B', value: 'api.shop:81' }] }] } } } };
    const r = inferFromManifests([...objects, caller], o);
    expect(r.edges.filter((e) => e.from === 'other/c').map((e) => e.to)).toEqual(['kube-system/coredns']);
  });
});

describe('public entry points and the shapes of real apps', () => {
  const deploy = (name: string, containers: unknown[]): Record<string, unknown> => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop' }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } } });
  const svc = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'shop' }, spec: { selector: { app: name }, ...spec } });

  it('an Ingress backend is reached by a controller the manifests do not show: a rule on its target port, and a note', () => {
    const objects = [
      deploy('www', [{ name: 'www', ports: [{ name: 'http', containerPort: 3000 }] }]),
      svc('www', { ports: [{ name: 'web', port: 80, targetPort: 'http' }] }),
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'site', namespace: 'shop' }, spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'www', port: { name: 'web' } } } }] } }] } },
    ];
    const obs = new ObservationSet();
    const inferred = inferFromManifests(objects, obs);
    expect(inferred.publicEntryPoints).toEqual([{ workload: 'shop/www', namespace: 'shop', labels: { app: 'www' }, ports: [{ protocol: 'TCP', port: 3000 }], reason: 'Ingress shop/site routes to Service shop/www' }]);
    expect(inferred.notes).toContainEqual(expect.stringContaining('Ingress shop/site → Service shop/www: its traffic comes from an ingress controller'));
    const r = suggestFromObservations(obs, { controllerSelectors: inferred.controllerSelectors });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const www = r.value.policies.find((p) => (p['metadata'] as { name: string }).name === 'www')!;
    expect((www['spec'] as { ingress: unknown[] }).ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 3000 }] }]);
  });

  it('headless pod names, injected Service variables by port name, and Services named nowhere', () => {
    const objects = [
      deploy('client', [{ name: 'c', args: ['--db=db-1.db.shop.svc.cluster.local:5432', '--metrics=$(STATS_SERVICE_HOST):$(STATS_SERVICE_PORT_UDP_STATSD)', '--cache=cache:6379'] }]),
      deploy('db', [{ name: 'db', ports: [{ name: 'pg', containerPort: 5432 }] }]),
      svc('db', { clusterIP: 'None', ports: [{ port: 5432, targetPort: 'pg' }] }),
      deploy('stats', [{ name: 's', ports: [{ name: 'statsd', containerPort: 8125, protocol: 'UDP' }, { name: 'admin', containerPort: 8126 }] }]),
      svc('stats', { ports: [{ name: 'udp-statsd', port: 8125, targetPort: 'statsd', protocol: 'UDP' }, { name: 'admin', port: 8126, targetPort: 'admin' }] }),
    ];
    const inferred = inferFromManifests(objects, new ObservationSet());
    const edges = inferred.edges.filter((e) => e.from === 'shop/client' && !e.to.startsWith('kube-system/')).map((e) => `${e.to}:${e.port}/${e.protocol}`).sort();
    expect(edges).toEqual(['shop/db:5432/TCP', 'shop/stats:8125/UDP']);
    expect(inferred.notes).toContainEqual('shop/client: env/args of client names cache:6379, but no Service cache is in the manifests: no rule is written for it');
  });
});

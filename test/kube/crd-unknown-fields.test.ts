/**
 * Unknown fields in a RampContract on the real API server (issue 23 #9). The CRD schema is
 * structural and preserves unknown fields nowhere but in the policies' metadata, so the API
 * server prunes a misspelt field; with field validation it also says so: a `Warning` header
 * naming the field by path by default (`fieldValidation` unset is Warn), and a 422 naming it
 * with `fieldValidation=Strict` (what `kubectl apply` sends by default). `additionalProperties:
 * false` beside `properties` is refused in a CRD schema, so pruning plus field validation is
 * as far as the schema can go.
 */
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, readCrdManifest, rejection } from '../support/kube/client.js';
import { rawPost } from '../support/kube/raw-post.js';

const kc = loadKubeConfig(inject('kubeconfig'));

const contract = (name: string): Record<string, unknown> => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'RampContract',
  metadata: { name },
  spec: {
    policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingres: [] } }],
    rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: 100, minDuration: '1m' }] },
    gates: { maxWouldDenny: 0 },
  },
});

interface Answer {
  readonly status: number;
  readonly warnings: string[];
  readonly body: { message?: string; spec?: { gates?: Record<string, unknown>; policies?: { spec: Record<string, unknown> }[] } };
}

/** POSTs over raw HTTPS, as kubectl does, to read the Warning headers. */
const create = (config: KubeConfig, body: unknown, query: string): Promise<Answer> => rawPost<Answer['body']>(config, `/apis/${GROUP}/${VERSION}/${PLURAL}${query}`, body);

describe('unknown RampContract fields on a real API server', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });
  afterAll(async () => {
    await customObjects(kc).deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: 'unknown-warn' }).catch(() => undefined);
  });

  it('by default: created, the fields pruned, and a warning naming each by path', async () => {
    const r = await create(kc, contract('unknown-warn'), '');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.warnings).toContain('unknown field "spec.gates.maxWouldDenny"');
    expect(r.warnings).toContain('unknown field "spec.policies[0].spec.ingres"');
    expect(r.body.spec?.gates).not.toHaveProperty('maxWouldDenny');
    expect(r.body.spec?.policies?.[0]?.spec).not.toHaveProperty('ingres');
  });

  it('with fieldValidation=Strict (kubectl apply): refused, naming each field', async () => {
    const r = await create(kc, contract('unknown-strict'), '?fieldValidation=Strict');
    expect(r.status).toBe(400); // BadRequest: a strict decoding error
    expect(r.body.message).toContain('unknown field "spec.gates.maxWouldDenny"');
    expect(r.body.message).toContain('unknown field "spec.policies[0].spec.ingres"');
  });

  it('a CRD schema cannot say additionalProperties: false beside properties', async () => {
    const crd = readCrdManifest();
    const probe = structuredClone(crd);
    probe.metadata = { name: `probes.${GROUP}` };
    probe.spec.names = { kind: 'RampProbe', listKind: 'RampProbeList', plural: 'probes', singular: 'probe' };
    const schema = probe.spec.versions[0]!.schema!.openAPIV3Schema!;
    (schema.properties!['spec']!.properties!['gates'] as { additionalProperties?: boolean }).additionalProperties = false;
    const { code, status } = await rejection(() => kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: probe }));
    expect(code).toBe(422);
    expect(status.message).toContain('additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive');
  });
});

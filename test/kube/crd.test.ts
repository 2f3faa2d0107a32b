import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CRD_NAME, GROUP, PLURAL, VERSION, customObjects, removeContract, installCrd, loadKubeConfig, rejection } from '../support/kube/client.js';
import { validContracts } from '../support/contract-fixtures.js';

const kc = loadKubeConfig(inject('kubeconfig'));

describe('RampContract CRD on a real API server', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  it('installs and becomes Established with the names, scope and subresources of the design', async () => {
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.status?.conditions).toContainEqual(expect.objectContaining({ type: 'NamesAccepted', status: 'True' }));
    expect(crd.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.status?.acceptedNames?.shortNames).toEqual(['ramp']);
    const version = crd.spec.versions.find((v) => v.name === VERSION);
    expect(version?.subresources?.status).toEqual({});
    expect(version?.additionalPrinterColumns?.map((c) => c.name)).toEqual(['Stage', 'Phase', 'Would-deny', 'Age']);
  });

  it('serves the resource under its short name in discovery', async () => {
    const resources = await kc.makeApiClient((await import('@kubernetes/client-node')).CustomObjectsApi).getAPIResources({ group: GROUP, version: VERSION });
    const resource = resources.resources.find((r) => r.name === PLURAL);
    expect(resource?.shortNames).toEqual(['ramp']);
    expect(resource?.namespaced).toBe(false);
  });

  it.each(validContracts().map((f) => [f.file, f] as const))('accepts the valid contract %s', async (_file, fixture) => {
    const api = customObjects(kc);
    const doc = fixture.doc as { metadata: { name: string } };
    await removeContract(kc, doc.metadata.name);
    const created = (await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: fixture.doc, fieldValidation: 'Strict' })) as {
      spec: { gates: Record<string, unknown>; advance: string };
    };
    // The schema's defaults fill what the contract left out, as the parser's defaults do.
    expect(created.spec.gates['minFlows']).toBeTypeOf('number');
    expect(created.spec.gates['maxReportAge']).toBeTypeOf('string');
    expect(['auto', 'manual']).toContain(created.spec.advance);
    await api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: doc.metadata.name });
  });

  it('rejects an invalid contract with the message a user would see', async () => {
    const api = customObjects(kc);
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'RampContract',
      metadata: { name: 'bad-percent' },
      spec: {
        policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: {} } }],
        rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: 150, minDuration: '1m' }] },
      },
    };
    const { code, status } = await rejection(() => api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body }));
    expect(code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toContain('spec.rollout.stages[1].percent');
    expect(status.message).toContain('should be less than or equal to 100');
  });
});

/**
 * The parser (core/contract) and the CRD schema (deploy/crds) must agree: the same valid and
 * invalid contracts go to both, and each must be accepted by both or rejected by both. For
 * accepted contracts, the object the API server stores (with the schema's defaults applied)
 * must parse to the same Contract as the original, so the two sets of defaults agree too.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { formatProblems } from '../../core/common/index.js';
import { parseContract } from '../../core/contract/index.js';
import { invalidContracts, validContracts, type ContractFixture } from '../support/contract-fixtures.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, removeContract, loadKubeConfig, rejection } from '../support/kube/client.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const api = customObjects(kc);

function nameOf(fixture: ContractFixture): string {
  return (fixture.doc as { metadata: { name: string } }).metadata.name;
}

/** `a.b[1].c` → [`a.b[1].c`, `a.b[1]`, `a.b`]: the path and its ancestors of two or more segments. */
function ancestors(path: string): string[] {
  const out = [path];
  for (let p = path; ; ) {
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) break;
    p = p.slice(0, cut);
    if (!p.includes('.')) break;
    out.push(p);
  }
  return out;
}

// Strict: unknown fields are an error, as with `kubectl apply` (server-side field validation).
const create = (body: unknown) => api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body, fieldValidation: 'Strict' });
const remove = (name: string) => api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });

describe('parser and CRD schema agree', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  it.each(validContracts().map((f) => [f.file, f] as const))('both accept %s, with the same defaults', async (_file, fixture) => {
    const parsed = parseContract(fixture.doc);
    expect(parsed.ok, parsed.ok ? '' : formatProblems(parsed.error)).toBe(true);
    await removeContract(kc, nameOf(fixture));
    const stored: unknown = await create(fixture.doc);
    try {
      const reparsed = parseContract(stored);
      expect(reparsed.ok, reparsed.ok ? '' : formatProblems(reparsed.error)).toBe(true);
      if (parsed.ok && reparsed.ok) {
        expect(reparsed.value.spec.gates).toEqual(parsed.value.spec.gates);
        expect(reparsed.value.spec.rollback).toEqual(parsed.value.spec.rollback);
        expect(reparsed.value.spec.advance).toEqual(parsed.value.spec.advance);
        expect(reparsed.value.spec.stages).toEqual(parsed.value.spec.stages);
        expect(reparsed.value.spec.policies).toEqual(parsed.value.spec.policies);
        expect(reparsed.value.policiesHash).toBe(parsed.value.policiesHash);
      }
    } finally {
      await remove(nameOf(fixture));
    }
  });

  it.each(invalidContracts().map((f) => [f.file, f] as const))('both reject %s', async (_file, fixture) => {
    const parsed = parseContract(fixture.doc);
    expect(parsed.ok, `parser accepted ${fixture.file}`).toBe(false);
    const { code, status } = await rejection(() => create(fixture.doc));
    // 422 Invalid for schema and CEL failures; 400 BadRequest for strict unknown-field errors.
    expect([400, 422], status.message).toContain(code);
    expect(status.message ?? '').not.toBe('');
    // The server's message names the field the parser names, or an ancestor of it at least two
    // levels deep (a CEL rule on spec.rollout reports there, a duplicate stage at stages[i]).
    if (!parsed.ok) {
      const message = status.message ?? '';
      const named = parsed.error.some((p) => ancestors(p.path).some((a) => message.includes(`${a}:`) || message.includes(`${a}"`)));
      expect(named, `server: ${message}\nparser: ${formatProblems(parsed.error)}`).toBe(true);
    }
  });
});

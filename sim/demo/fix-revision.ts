/**
 * The demo's fourth story, played as a user would: once `kafka-narrow` is Blocked on a
 * forgotten producer, ask the control plane for the smallest fix (GET
 * /api/v1/contracts/{name}/fix, what `rampart fix` computes) and add its policies to the
 * contract, which keeps its `replaces`: a new revision that starts at monitor again. File
 * mode rewrites the contract file (renamed into place, so the folder watch never reads half a
 * file); Kubernetes mode updates the RampContract.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { isObject } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import { isConflict } from '../../io/kube/api-error.js';

/** Updates tried before a conflict is reported (each on a fresh read). */
const CONFLICT_ATTEMPTS = 5;

export interface FixRevisionOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly contract: string;
  /** File mode: the folder the control plane reads contracts from. */
  readonly contractsDir: string | null;
  /** Kubernetes mode: the API server holding the RampContract. */
  readonly kc: KubeConfig | null;
}

/** Adds the fix as a new revision; resolves to what was done, in one line. */
export async function addFixAsRevision(o: FixRevisionOptions): Promise<string> {
  const res = await fetch(`${o.baseUrl}/api/v1/contracts/${encodeURIComponent(o.contract)}/fix`, { headers: { authorization: `Bearer ${o.token}` } });
  if (!res.ok) throw new Error(`GET /api/v1/contracts/${o.contract}/fix: HTTP ${res.status}`);
  const body: unknown = await res.json();
  const policies = isObject(body) && Array.isArray(body.policies) ? (body.policies as unknown[]) : [];
  if (policies.length === 0) return `no fix to add (${isObject(body) && typeof body.message === 'string' ? body.message : 'empty answer'})`;
  const names = policies.map((p) => (isObject(p) && isObject(p.metadata) ? `${String(p.metadata.namespace)}/${String(p.metadata.name)}` : '?'));
  if (o.kc !== null) {
    const api = o.kc.makeApiClient(CustomObjectsApi);
    const id = { group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural, name: o.contract };
    // On the resourceVersion read: a concurrent write (the control plane's status or finalizer)
    // fails this update with a conflict rather than being lost; read again and retry.
    for (let attempt = 1; ; attempt++) {
      const current = (await api.getClusterCustomObject(id)) as { spec: { policies: unknown[] } };
      try {
        await api.replaceClusterCustomObject({ ...id, body: { ...current, spec: { ...current.spec, policies: [...current.spec.policies, ...policies] } } });
        break;
      } catch (e) {
        if (!isConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
      }
    }
  } else if (o.contractsDir !== null) {
    const file = path.join(o.contractsDir, `${o.contract}.yaml`);
    const doc = parse(readFileSync(file, 'utf8')) as { spec: { policies: unknown[] } };
    doc.spec.policies = [...doc.spec.policies, ...policies];
    writeFileSync(`${file}.tmp`, stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }));
    renameSync(`${file}.tmp`, file);
  } else {
    return 'no contract source to write the fix to';
  }
  return `added the fix ${names.join(', ')} to ${o.contract} (its replaces kept): a new revision, back to monitor`;
}

/**
 * Domain ⇄ wire for proto/rampart/v1 `ContractSet` (core/summary ContractSet): the control
 * plane encodes the set it pushes, the agent decodes it. Same wire conventions as
 * report-codec.ts: proto field names, `defaults: false`, untrusted input read field by field.
 */
import { childPath, err, ok, problem, type Problem, type Result } from '../../core/common/index.js';
import type { ActiveContract, BaselinePolicyManifest, ContractSet, Enforcement } from '../../core/summary/index.js';
import { NETWORK_POLICY_KIND, type PolicyIdentity } from '../../core/policy/index.js';
import { describe, Reader } from './wire-reader.js';

// ---------------------------------------------------------------------------------------
// Wire shapes (what we send; what we accept is `unknown` and read field by field).

export interface ActiveContractPb {
  name: string;
  revision: number;
  stage_index: number;
  stage_name: string;
  policies_json: string;
  enforcement: { mode: string; percent: number; namespaces: string[]; enroll_label: string };
  baseline_revision: string;
  replaces: PolicyRefPb[];
  removes: PolicyRefPb[];
}

export interface PolicyRefPb {
  kind: string;
  namespace: string;
  name: string;
}

export interface BaselinePolicyPb {
  ref: string;
  manifest_json: string;
  owner: string;
  kind?: string;
}

export interface ContractSetPb {
  generation: number;
  contracts: ActiveContractPb[];
  baseline: BaselinePolicyPb[];
  baseline_revision: string;
}

// ---------------------------------------------------------------------------------------
// Encoding (domain → wire): total, no validation needed (the domain types are trusted).

const policyRefToPb = (id: PolicyIdentity): PolicyRefPb => ({ kind: id.kind === NETWORK_POLICY_KIND ? '' : id.kind, namespace: id.namespace, name: id.name });

export function contractSetToPb(set: ContractSet): ContractSetPb {
  const baselineRevision = set.baseline?.revision ?? '';
  return {
    generation: set.generation,
    baseline: (set.baseline?.policies ?? []).map((p) => ({ ref: p.ref, manifest_json: JSON.stringify(p.manifest), owner: p.owner ?? '', kind: manifestKind(p.manifest) })),
    baseline_revision: baselineRevision,
    contracts: set.contracts.map((c) => ({
      name: c.name,
      revision: c.revision,
      stage_index: c.stageIndex,
      stage_name: c.stageName,
      policies_json: JSON.stringify(c.policies),
      enforcement: {
        mode: c.enforcement.mode,
        percent: c.enforcement.mode === 'percent' ? c.enforcement.percent : 0,
        namespaces: c.enforcement.mode === 'namespaces' ? [...c.enforcement.namespaces] : [],
        enroll_label: c.enforcement.mode === 'percent' ? (c.enforcement.enrollLabel ?? '') : '',
      },
      baseline_revision: c.baselineRevision ?? baselineRevision,
      replaces: (c.replaces ?? []).map(policyRefToPb),
      removes: (c.removes ?? []).map(policyRefToPb),
    })),
  };
}

// ---------------------------------------------------------------------------------------
// Decoding (wire → domain): every field checked, every problem collected.

const ENFORCEMENT_MODES = ['monitor', 'percent', 'namespaces'] as const;

function readEnforcement(r: Reader): Enforcement {
  const mode = r.string('mode');
  switch (mode) {
    case 'monitor':
      return { mode };
    case 'percent': {
      const percent = r.number('percent', { min: 0, max: 100 });
      const enrollLabel = r.string('enroll_label');
      return enrollLabel === '' ? { mode, percent } : { mode, percent, enrollLabel };
    }
    case 'namespaces':
      return {
        mode,
        namespaces: r.list('namespaces').map((n, i) => {
          if (typeof n !== 'string' || n === '') {
            r.problems.push(problem(childPath(childPath(r.path, 'namespaces'), i), `expected a namespace name, got ${describe(n)}`));
            return '';
          }
          return n;
        }),
      };
    default:
      r.problems.push(problem(childPath(r.path, 'mode'), `expected one of ${ENFORCEMENT_MODES.join(', ')}, got ${describe(mode)}`));
      return { mode: 'monitor' };
  }
}

function readActiveContract(r: Reader): ActiveContract {
  const json = r.string('policies_json');
  let policies: unknown[] = [];
  if (json !== '') {
    try {
      const parsed: unknown = JSON.parse(json);
      if (Array.isArray(parsed)) policies = parsed;
      else r.problems.push(problem(childPath(r.path, 'policies_json'), 'expected a JSON array of NetworkPolicy manifests'));
    } catch (e) {
      r.problems.push(problem(childPath(r.path, 'policies_json'), `invalid JSON: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  const baselineRevision = r.string('baseline_revision');
  const replaces = r.list('replaces').map((p, i) => readPolicyRef(new Reader(p, childPath(childPath(r.path, 'replaces'), i), r.problems)));
  const removes = r.list('removes').map((p, i) => readPolicyRef(new Reader(p, childPath(childPath(r.path, 'removes'), i), r.problems)));
  return {
    name: r.string('name', { required: true }),
    revision: r.count('revision'),
    stageIndex: r.count('stage_index'),
    stageName: r.string('stage_name', { required: true }),
    policies,
    enforcement: readEnforcement(r.child('enforcement')),
    ...(baselineRevision === '' ? {} : { baselineRevision }),
    ...(replaces.length === 0 ? {} : { replaces }),
    ...(removes.length === 0 ? {} : { removes }),
  };
}

function readPolicyRef(r: Reader): PolicyIdentity {
  const kind = r.string('kind');
  return { kind: kind === '' ? NETWORK_POLICY_KIND : kind, namespace: r.string('namespace'), name: r.string('name', { required: true }) };
}

/** The kind a manifest declares (NetworkPolicy when it says none). */
function manifestKind(manifest: unknown): string {
  const kind = typeof manifest === 'object' && manifest !== null ? (manifest as Record<string, unknown>)['kind'] : undefined;
  return typeof kind === 'string' && kind !== '' ? kind : 'NetworkPolicy';
}

function readBaselinePolicy(r: Reader): BaselinePolicyManifest {
  const ref = r.string('ref', { required: true });
  const json = r.string('manifest_json', { required: true });
  let manifest: unknown = null;
  if (json !== '') {
    try {
      manifest = JSON.parse(json);
    } catch (e) {
      r.problems.push(problem(childPath(r.path, 'manifest_json'), `invalid JSON: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
  const owner = r.string('owner');
  // kind travels beside the manifest for readers of the wire; the manifest's own kind is what is parsed.
  const kind = r.string('kind');
  if (kind !== '' && manifest !== null && manifestKind(manifest) !== kind) {
    r.problems.push(problem(childPath(r.path, 'kind'), `says ${kind} but the manifest is a ${manifestKind(manifest)}`));
  }
  return { ref, manifest, owner: owner === '' ? null : owner };
}

/**
 * Validates and converts a `ContractSet` as received. The policies stay raw JSON values;
 * core/policy validates them when the agent compiles the set.
 */
export function contractSetFromPb(pb: unknown): Result<ContractSet, Problem[]> {
  const problems: Problem[] = [];
  const r = new Reader(pb, '', problems);
  const contracts = r.list('contracts').map((c, i) => readActiveContract(new Reader(c, childPath('contracts', i), problems)));
  const names = new Set<string>();
  contracts.forEach((c, i) => {
    if (names.has(c.name)) problems.push(problem(childPath(childPath('contracts', i), 'name'), `duplicate contract ${JSON.stringify(c.name)}`));
    names.add(c.name);
  });
  const policies = r.list('baseline').map((p, i) => readBaselinePolicy(new Reader(p, childPath('baseline', i), problems)));
  const revision = r.string('baseline_revision');
  const judged = policies.length > 0 || revision !== '';
  const set: ContractSet = { generation: r.count('generation'), contracts, ...(judged ? { baseline: { revision, policies } } : {}) };
  return problems.length > 0 ? err(problems) : ok(set);
}

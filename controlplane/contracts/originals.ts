/**
 * Policies in force that a contract replaces or removes, as the cluster sees them during a
 * ramp (product.md "Changes to what is enforced"): the original X keeps its owner's text
 * except for one entry Rampart adds to its pod selectors (a NetworkPolicy's podSelector, a
 * Cilium policy's endpointSelectors), `{key: enroll.rampart.dev/<contract>, operator:
 * DoesNotExist}`, so X stops applying to enrolled pods; the new text runs as a
 * managed copy under its own name. Pure helpers shared by the actuator (which adds and
 * removes the entry) and the baseline source (which hands X to agents as its owner wrote it).
 */
import { contentHash } from '../../core/common/index.js';
import { ENROLL_PREFIX, enrollLabelKey } from './labels.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The finalizer on a contract that has changed something of someone else's (an original's
 * selector entry, pod labels): its deletion waits until the leader has put them back.
 */
export const RESTORE_FINALIZER = 'rampart.dev/restore-originals';
/** The field manager that owns the finalizer (its own, so releasing it touches nothing else). */
export const FINALIZER_FIELD_MANAGER = 'rampart-finalizer';

/** Rampart's entry on an original: a Rampart key with DoesNotExist and no values. */
function isOurEntry(e: unknown): boolean {
  if (!isObj(e) || typeof e['key'] !== 'string' || !e['key'].startsWith(ENROLL_PREFIX) || e['operator'] !== 'DoesNotExist') return false;
  return e['values'] === undefined || (Array.isArray(e['values']) && e['values'].length === 0);
}

/**
 * A pod selector as its owner wrote it: Rampart's entries taken out, and `matchExpressions`
 * dropped when that empties it (the API server never stores an empty list, so this is the
 * owner's object exactly).
 */
export function ownerSelector(selector: unknown): Obj {
  const s: Obj = isObj(selector) ? { ...selector } : {};
  if (!Array.isArray(s['matchExpressions'])) return s;
  const kept = (s['matchExpressions'] as unknown[]).filter((e) => !isOurEntry(e));
  if (kept.length === 0) delete s['matchExpressions'];
  else s['matchExpressions'] = kept;
  return s;
}

/** This contract's exclusion entry on an original. */
function isEntryOf(e: unknown, contract: string): boolean {
  return isOurEntry(e) && (e as Obj)['key'] === enrollLabelKey(contract);
}

/** The selector without this contract's exclusion entry (other contracts' entries stay). */
export function withoutExclusion(selector: unknown, contract: string): Obj {
  const s: Obj = isObj(selector) ? { ...selector } : {};
  if (!Array.isArray(s['matchExpressions'])) return s;
  const kept = (s['matchExpressions'] as unknown[]).filter((e) => !isEntryOf(e, contract));
  if (kept.length === 0) delete s['matchExpressions'];
  else s['matchExpressions'] = kept;
  return s;
}

/** The selector with this contract's exclusion entry added (once, last). */
export function withExclusion(selector: unknown, contract: string): Obj {
  const s = withoutExclusion(selector, contract);
  const expressions = Array.isArray(s['matchExpressions']) ? [...(s['matchExpressions'] as unknown[])] : [];
  expressions.push({ key: enrollLabelKey(contract), operator: 'DoesNotExist' });
  return { ...s, matchExpressions: expressions };
}

/** Whether the selector carries this contract's exclusion entry. */
export function hasExclusionOf(selector: unknown, contract: string): boolean {
  return isObj(selector) && Array.isArray(selector['matchExpressions']) && (selector['matchExpressions'] as unknown[]).some((e) => isEntryOf(e, contract));
}

/** Whether the selector carries any of Rampart's exclusion entries. */
export function hasExclusion(selector: unknown): boolean {
  return isObj(selector) && Array.isArray(selector['matchExpressions']) && (selector['matchExpressions'] as unknown[]).some(isOurEntry);
}

const isCiliumKind = (kind: string): boolean => kind === 'CiliumNetworkPolicy' || kind === 'CiliumClusterwideNetworkPolicy';

/**
 * Where a policy picks the pods it governs, which is where an original gets the exclusion
 * entry: a NetworkPolicy's `spec.podSelector`; a Cilium policy's `spec.endpointSelector` and
 * each `specs[i].endpointSelector` (a rule with a nodeSelector instead selects nodes, not pods).
 */
export function podSelectorsOf(kind: string, obj: { spec?: unknown; specs?: unknown }): unknown[] {
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  if (!isCiliumKind(kind)) return [spec?.['podSelector']];
  const out: unknown[] = [];
  if (spec !== undefined && spec['endpointSelector'] !== undefined) out.push(spec['endpointSelector']);
  if (Array.isArray(obj.specs)) for (const r of obj.specs as unknown[]) if (isObj(r) && r['endpointSelector'] !== undefined) out.push(r['endpointSelector']);
  return out;
}

/**
 * The parts of a policy that hold its pod selectors, each mapped by `f`: `{spec: {podSelector}}`
 * for a NetworkPolicy; `{spec: {endpointSelector}}` and the whole `specs` list for Cilium (the
 * CRD's selectors are atomic and `specs` is an atomic list, so a server-side apply must carry
 * all of it). This is the body of the apply that co-owns an original's selectors.
 */
export function selectorParts(kind: string, obj: { spec?: unknown; specs?: unknown }, f: (selector: unknown) => Obj): Obj {
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  if (!isCiliumKind(kind)) return { spec: { podSelector: f(spec?.['podSelector']) } };
  const out: Obj = {};
  if (spec !== undefined && spec['endpointSelector'] !== undefined) out['spec'] = { endpointSelector: f(spec['endpointSelector']) };
  if (Array.isArray(obj.specs)) out['specs'] = (obj.specs as unknown[]).map((r) => (isObj(r) && r['endpointSelector'] !== undefined ? { ...r, endpointSelector: f(r['endpointSelector']) } : r));
  return out;
}

/** The object with its selector parts replaced (what the API server holds after the apply). */
export function withSelectorParts<T extends { spec?: unknown; specs?: unknown }>(obj: T, parts: Obj): T {
  const out: Obj = { ...(obj as Obj) };
  if (isObj(parts['spec'])) out['spec'] = { ...(isObj(obj.spec) ? obj.spec : {}), ...parts['spec'] };
  if (parts['specs'] !== undefined) out['specs'] = parts['specs'];
  return out as T;
}

/** A policy manifest with its selectors as its owner wrote them (the baseline's view of X), of any kind. */
export function ownerManifest<T>(manifest: T): T {
  if (!isObj(manifest)) return manifest;
  const kind = typeof manifest['kind'] === 'string' ? manifest['kind'] : 'NetworkPolicy';
  if (!podSelectorsOf(kind, manifest).some(hasExclusion)) return manifest;
  return withSelectorParts(manifest, selectorParts(kind, manifest, ownerSelector)) as T;
}

/** The name of the managed copy that carries X's new text until Complete (a valid object name). */
export function copyName(contract: string, name: string): string {
  const suffix = contentHash(`${contract}\u0000${name}`).slice(0, 8);
  // An object name is a DNS subdomain of at most 253 characters.
  return `${name.slice(0, 253 - 'rampart--'.length - suffix.length)}-rampart-${suffix}`.replace(/\.-/g, '-');
}

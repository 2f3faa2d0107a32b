/**
 * One entry point for any policy manifest the engine judges: a NetworkPolicy, a
 * CiliumNetworkPolicy or a CiliumClusterwideNetworkPolicy, told apart by `kind`.
 */
import type { Problem, Result } from '../common/index.js';
import { isCiliumManifest, parseCiliumPolicy } from './cilium-parse.js';
import { parseNetworkPolicy } from './parse.js';
import type { Policy } from './policy.js';

export function parsePolicy(raw: unknown, path: string): Result<Policy, Problem[]> {
  return isCiliumManifest(raw) ? parseCiliumPolicy(raw, path) : parseNetworkPolicy(raw, path);
}

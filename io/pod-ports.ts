/**
 * Named container ports of pods, from `kubectl get pods -A -o json` (a `List` of Pods; a
 * single Pod or YAML works too), so NetworkPolicy named ports can be resolved on the
 * destination pod (netpol.md rules 18, cases 12–14).
 */
import { err, ok, isObject, type Problem, type Result } from '../core/common/index.js';
import type { PolicyProtocol } from '../core/policy/index.js';
import { readYamlDocuments, type YamlDocument } from './yaml-documents.js';

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];

/**
 * The port number a pod gives a name for a protocol: a number, `null` when the pod is known
 * but has no such port, `undefined` when the pod is unknown (so the verdict is indeterminate).
 */
export type PodPortLookup = (namespace: string, podName: string, portName: string, protocol: PolicyProtocol) => number | null | undefined;

export interface PodPorts {
  readonly lookup: PodPortLookup;
  /**
   * A named port over every pod read, as Cilium resolves egress named ports (netpol.md 4.3):
   * the number when exactly one number carries that name and protocol, else null.
   */
  readonly cluster: (portName: string, protocol: string) => number | null;
  /** Pods read. */
  readonly pods: number;
}

/** Builds the lookup from already-read Pod objects; paths in problems are relative to `path`. */
export function podPortsFromObjects(
  pods: readonly { readonly value: unknown; readonly path: string; readonly where: (path: string) => string }[],
): Result<PodPorts, Problem[]> {
  const byPod = new Map<string, Map<string, number>>();
  const problems: Problem[] = [];
  for (const { value, path, where } of pods) {
    const at = (p: string, message: string): void => {
      problems.push({ path: where(p), message: `${p}: ${message}` });
    };
    if (!isObject(value) || value['kind'] !== 'Pod') {
      at(path, 'expected a Pod');
      continue;
    }
    const metadata = value['metadata'];
    const name = isObject(metadata) ? metadata['name'] : undefined;
    if (typeof name !== 'string' || name === '') {
      at(`${path}.metadata.name`, 'expected the pod name');
      continue;
    }
    const ns = isObject(metadata) && typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
    const ports = new Map<string, number>();
    const spec = isObject(value['spec']) ? value['spec'] : {};
    // Regular containers, plus init containers that keep running (sidecars) since they serve ports too.
    for (const group of ['containers', 'initContainers'] as const) {
      const containers = spec[group];
      if (containers === undefined) continue;
      if (!Array.isArray(containers)) {
        at(`${path}.spec.${group}`, 'expected a list of containers');
        continue;
      }
      containers.forEach((container: unknown, ci) => {
        if (!isObject(container)) return;
        if (group === 'initContainers' && container['restartPolicy'] !== 'Always') return;
        const list = container['ports'];
        if (list === undefined) return;
        if (!Array.isArray(list)) {
          at(`${path}.spec.${group}[${ci}].ports`, 'expected a list of ports');
          return;
        }
        list.forEach((port: unknown, pi) => {
          const pp = `${path}.spec.${group}[${ci}].ports[${pi}]`;
          if (!isObject(port)) return at(pp, 'expected {name, containerPort, protocol}');
          const number = port['containerPort'];
          const protocol = port['protocol'] ?? 'TCP';
          if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
            return at(`${pp}.containerPort`, `expected a port number 1-65535, got ${JSON.stringify(number)}`);
          }
          if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) {
            return at(`${pp}.protocol`, `expected TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`);
          }
          const portName = port['name'];
          if (typeof portName === 'string' && portName !== '') ports.set(`${portName}/${protocol}`, number);
        });
      });
    }
    byPod.set(`${ns}/${name}`, ports);
  }
  if (problems.length > 0) return err(problems);
  const lookup: PodPortLookup = (namespace, podName, portName, protocol) => {
    const ports = byPod.get(`${namespace}/${podName}`);
    if (ports === undefined) return undefined;
    return ports.get(`${portName}/${protocol}`) ?? null;
  };
  const numbers = new Map<string, Set<number>>();
  for (const ports of byPod.values()) {
    for (const [key, n] of ports) {
      let set = numbers.get(key);
      if (set === undefined) numbers.set(key, (set = new Set()));
      set.add(n);
    }
  }
  const cluster = (portName: string, protocol: string): number | null => {
    const set = numbers.get(`${portName}/${protocol}`);
    return set !== undefined && set.size === 1 ? [...set][0]! : null;
  };
  return ok({ lookup, cluster, pods: byPod.size });
}

function podsOfDocument(file: string, doc: YamlDocument) {
  const where = (p: string): string => `${file}:${doc.lineOf(p)}`;
  const v = doc.value;
  if (isObject(v) && Array.isArray(v['items'])) {
    return (v['items'] as unknown[]).map((value, i) => ({ value, path: `items[${i}]`, where }));
  }
  return [{ value: v, path: '', where }];
}

/** Reads a pods file; every problem names file and line. */
export async function loadPodPorts(file: string): Promise<Result<PodPorts, Problem[]>> {
  const docs = await readYamlDocuments(file);
  if (!docs.ok) return docs;
  return podPortsFromObjects(docs.value.flatMap((d) => podsOfDocument(file, d)));
}

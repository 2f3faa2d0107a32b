/**
 * Where the control plane learns what the cluster runs (core/sufficiency's Inventory): the
 * API server in Kubernetes mode (kube-inventory-source.ts), or `--workloads <file|dir>`
 * offline and in the demo: manifests or `kubectl get … -o json` Lists of CronJobs, Deployments,
 * StatefulSets, DaemonSets, Jobs and Pods. Without either, the inventory is empty and the
 * traffic map's own workloads stand in (sufficiency-service.ts).
 */
import type { Problem } from '../../core/common/index.js';
import { buildInventory, EMPTY_INVENTORY, type Inventory } from '../../core/sufficiency/index.js';
import { loadKubeObjects } from '../../io/kube-objects.js';

export interface InventorySource {
  snapshot(): Inventory;
}

export const EMPTY_INVENTORY_SOURCE: InventorySource = { snapshot: () => EMPTY_INVENTORY };

export class StaticInventorySource implements InventorySource {
  private readonly inventory: Inventory;
  constructor(inventory: Inventory) {
    this.inventory = inventory;
  }
  snapshot(): Inventory {
    return this.inventory;
  }
}

/** Reads `--workloads`: every problem names the file and line; a bad object is left out, the rest is used. */
export async function loadInventoryFiles(target: string): Promise<{ source: InventorySource; problems: Problem[] }> {
  const objects = await loadKubeObjects(target);
  if (!objects.ok) return { source: EMPTY_INVENTORY_SOURCE, problems: objects.error };
  const { inventory, problems } = buildInventory(
    objects.value.objects.map((o) => ({ object: o.value, path: o.where })),
    false,
  );
  return { source: new StaticInventorySource(inventory), problems: [...objects.value.warnings, ...problems] };
}

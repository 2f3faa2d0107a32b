/**
 * Metrics of the traffic map and the admission webhook, registered beside the control plane's
 * own (controlplane/metrics/metrics.ts). Labels are bounded: no workload, pod, IP or port.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { MapSaveStats } from './map-service.js';
import type { TrafficMap } from './traffic-map.js';

export type AdmissionResult = 'allowed' | 'warned' | 'refused' | 'error';

export class MapMetrics {
  readonly admissionSeconds: Histogram<'result'>;

  constructor(registry: Registry, map: TrafficMap, saves?: () => MapSaveStats) {
    const registers = [registry];
    if (saves !== undefined) {
      new Gauge({
        name: 'rampart_controlplane_map_saved_edges',
        help: 'Edges in the traffic map file as last written (what a restart after kill -9 loads).',
        registers,
        collect() {
          this.set(saves().lastSavedEdges);
        },
      });
      new Gauge({
        name: 'rampart_controlplane_map_saved_timestamp_seconds',
        help: 'When the traffic map file was last written (0: not yet).',
        registers,
        collect() {
          this.set((saves().lastSavedAtMs ?? 0) / 1000);
        },
      });
    }
    new Gauge({
      name: 'rampart_controlplane_map_edges',
      help: 'Workload edges held in the traffic map.',
      registers,
      collect() {
        this.set(map.size);
      },
    });
    new Gauge({
      name: 'rampart_controlplane_map_other_connections',
      help: 'Connections within the retention folded into the "other" bucket (edge bounds of agents or map).',
      registers,
      collect() {
        this.set(map.stats().other);
      },
    });
    new Gauge({
      name: 'rampart_controlplane_map_evicted_edges',
      help: 'Edges evicted because the map was full (least recently seen first), since the map was created.',
      registers,
      collect() {
        this.set(map.stats().evictedEdges);
      },
    });
    this.admissionSeconds = new Histogram({
      name: 'rampart_controlplane_admission_review_seconds',
      help: 'Time to answer an admission review, by result.',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    });
  }
}

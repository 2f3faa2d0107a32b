/** Reads the control plane's traffic map (`GET /api/v1/map`) for `rampart suggest --controlplane`. */
import { parseTrafficMap, type TrafficMap } from '../core/authoring/index.js';
import { getJson, type ApiTarget } from './api-client.js';

export async function fetchMap(target: ApiTarget, since: string | null): Promise<TrafficMap | string> {
  const q = since === null ? '' : `?since=${encodeURIComponent(since)}`;
  return parseTrafficMap(await getJson(target, `/api/v1/map${q}`));
}

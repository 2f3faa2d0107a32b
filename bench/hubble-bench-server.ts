/**
 * Child process for bench/hubble.bench.ts: a HubbleServer whose ring holds `count` L3/L4
 * flows from ../shared/flows (re-timed to strictly increasing timestamps), so the client
 * under test gets a long backlog that costs the server only pre-encoded writes. Prints
 * `{"address":…}` on stdout once listening; serves until killed.
 */
import { retime } from '../replay/playback.js';
import { HubbleServer } from '../replay/server.js';
import { loadAgentVisibleFlows } from './stream-bench.js';

const count = Number(process.argv[2] ?? 65535);

const base = loadAgentVisibleFlows();
const server = new HubbleServer({ ringCapacity: count, nodeName: 'bench' });
const t0 = 1_700_000_000_000_000_000n;
for (let i = 0; i < count; i++) server.publish(retime(base[i % base.length]!, t0 + BigInt(i) * 1000n));
const { address } = await server.listen('127.0.0.1:0');
process.stdout.write(`${JSON.stringify({ address, flows: count, distinct: base.length })}\n`);

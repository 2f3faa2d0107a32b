import { AGENT_FILTERS, createHubbleClient as newClient } from '/work/wt/agent-speed/dist/agent/hubble/client.js';
import { createHubbleClient as oldClient } from '/tmp/old/dist/agent/hubble/client.js';
import { measure, startBenchServer } from '/work/wt/agent-speed/dist/bench/stream-bench.js';
const FLOWS = 65535;
const server = await startBenchServer('agent-bench-server', FLOWS);
async function run(create, opts) {
  const ac = new AbortController();
  const c = create({ target: server.address, filters: AGENT_FILTERS, signal: ac.signal, initialNumber: FLOWS, ...opts });
  let n = 0;
  out: for await (const batch of c.batches()) for (const e of batch) if (++n === FLOWS) break out;
  ac.abort(); return n;
}
const modes = { old: () => run(oldClient, {}), new: () => run(newClient, {}), newSkip: () => run(newClient, { earlySkip: true }) };
for (const f of Object.values(modes)) await f();
const res = {};
for (let i = 0; i < 5; i++) for (const [k, f] of Object.entries(modes)) { const s = await measure(f); (res[k] ??= []).push(`${(s.cpuMs * 1000 / s.flows).toFixed(2)}µs/${Math.round(s.flows / s.wallMs * 1000)}/s`); }
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(8), v.join('  '));
server.stop();

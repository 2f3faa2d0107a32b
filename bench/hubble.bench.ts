/**
 * Hubble client throughput (issue 3 item 7): replay server → client → domain Flow, beside a
 * no-op consumer of the same stream (same grpc-js transport, a deserializer that returns the
 * raw Buffer, no decoding), measured in the same run. The server runs in a child process so
 * `process.cpuUsage()` here is the client's CPU alone.
 *
 * Prints, per consumer: flows/s (wall) and flows per client CPU-second, and the ratio of the
 * full client's per-CPU rate to the no-op's. Targets: ratio ≥ 60 %, full client ≥ 50,000
 * flows/s on one core (i.e. per CPU-second).
 */
import * as grpc from '@grpc/grpc-js';
import { AGENT_FILTERS, createHubbleClient } from '../agent/hubble/client.js';
import { encodeRecord, hubbleType } from '../proto/codec/hubble-types.js';
import { stallGuard } from './stall-guard.js';
import { measure, startBenchServer, type Sample } from './stream-bench.js';

const FLOWS = 65_535;
const ROUNDS = 5;
/** Rounds a stall guard ended early (fewer messages than asked for), printed with the figures. */
const stoppedEarly: string[] = [];

/** The full client: fast wire decode → domain Flow, overlap tracking, stats. */
async function fullClient(address: string, decoder: 'fast' | 'reference'): Promise<number> {
  const ac = new AbortController();
  const client = createHubbleClient({ target: address, filters: AGENT_FILTERS, signal: ac.signal, initialNumber: FLOWS, decoder });
  let n = 0;
  let ports = 0;
  const guard = stallGuard(() => n, () => ac.abort());
  for await (const ev of client) {
    if (ev.kind === 'flow') {
      ports += ev.flow.l4?.destinationPort ?? 0; // touch the result so nothing is optimised away
      if (++n === FLOWS) break;
    }
  }
  guard.dispose();
  ac.abort();
  if (guard.stopped) stoppedEarly.push(`client (${decoder}): ${guard.reason}`);
  if (ports === 0) throw new Error('no ports decoded');
  return n;
}

/**
 * Same request, same transport, no decoding: `for await` over the grpc-js stream (the
 * idiomatic consumer), or a `read()` loop that waits only when the buffer is empty (how the
 * client itself reads). Both are printed; the ratio uses the faster of the two.
 */
async function noopClient(address: string, style: 'for-await' | 'read-loop'): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  const requestType = hubbleType('observer.GetFlowsRequest');
  const request = { follow: true, number: FLOWS, whitelist: [...(AGENT_FILTERS.whitelist ?? [])] };
  const call = client.makeServerStreamRequest<typeof request, Buffer>(
    '/observer.Observer/GetFlows',
    (r) => encodeRecord(requestType, r),
    (b) => b,
    request,
    {},
  );
  call.on('error', () => {}); // the cancel at the end
  let n = 0;
  let bytes = 0;
  const guard = stallGuard(() => n, () => call.cancel());
  try {
    if (style === 'for-await') {
      try {
        for await (const buf of call as AsyncIterable<Buffer>) {
          bytes += buf.length;
          if (++n === FLOWS) break;
        }
      } catch (e) {
        if (!guard.stopped) throw e; // the guard's cancel ends the loop with CANCELLED
      }
    } else {
      // One persistent listener; a wait is one promise (as in the client).
      let waiter: (() => void) | undefined;
      let ended = false;
      const wake = (): void => {
        const w = waiter;
        waiter = undefined;
        w?.();
      };
      call.on('readable', wake);
      for (const event of ['close', 'end', 'error']) {
        call.on(event, () => {
          ended = true;
          wake();
        });
      }
      while (n < FLOWS && !ended && !guard.stopped) {
        const buf = call.read() as Buffer | null;
        if (buf === null) {
          await new Promise<void>((resolve) => (waiter = resolve));
          continue;
        }
        bytes += buf.length;
        n++;
      }
    }
  } finally {
    guard.dispose();
    call.cancel();
    client.close();
  }
  if (guard.stopped) stoppedEarly.push(`no-op (${style}): ${guard.reason}`);
  if (bytes === 0) throw new Error('no bytes');
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function summarize(name: string, samples: Sample[]): { perCpuS: number; perWallS: number } {
  const perCpuS = median(samples.map((s) => s.flows / (s.cpuMs / 1000)));
  const perWallS = median(samples.map((s) => s.flows / (s.wallMs / 1000)));
  const usPerFlow = median(samples.map((s) => (s.cpuMs * 1000) / s.flows));
  process.stdout.write(
    `${name.padEnd(30)} ${Math.round(perWallS).toLocaleString('en-US').padStart(9)} flows/s wall  ` +
      `${Math.round(perCpuS).toLocaleString('en-US').padStart(9)} flows/CPU-s  ${usPerFlow.toFixed(2)} µs CPU/flow\n`,
  );
  return { perCpuS, perWallS };
}

const server = await startBenchServer('hubble-bench-server', FLOWS);
try {
  process.stdout.write(`server: child process, ${FLOWS.toLocaleString('en-US')} flows per round, ${ROUNDS} rounds (medians)\n`);
  // Warm-up: JIT every path.
  await noopClient(server.address, 'for-await');
  await noopClient(server.address, 'read-loop');
  await fullClient(server.address, 'fast');
  const noopAwait: Sample[] = [];
  const noopRead: Sample[] = [];
  const full: Sample[] = [];
  const ref: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    noopAwait.push(await measure(() => noopClient(server.address, 'for-await')));
    noopRead.push(await measure(() => noopClient(server.address, 'read-loop')));
    full.push(await measure(() => fullClient(server.address, 'fast')));
  }
  for (let i = 0; i < 2; i++) ref.push(await measure(() => fullClient(server.address, 'reference')));
  const na = summarize('no-op, for await (raw bytes)', noopAwait);
  const nr = summarize('no-op, read loop (raw bytes)', noopRead);
  const f = summarize('client → domain Flow', full);
  summarize('  (reference decode path)', ref);
  const best = Math.max(na.perCpuS, nr.perCpuS);
  process.stdout.write(
    `ratio full/no-op per CPU-second: ${((f.perCpuS / best) * 100).toFixed(1)} % against the faster no-op ` +
      `(${((f.perCpuS / na.perCpuS) * 100).toFixed(1)} % against for-await; target ≥ 60 %)\n` +
      `full client on one core: ${Math.round(f.perCpuS).toLocaleString('en-US')} flows/CPU-s (target ≥ 50,000)\n`,
  );
  // Rates are per message actually received, so a short round still measures right; say so.
  if (stoppedEarly.length > 0) process.stdout.write(`rounds stopped early by the stall guard:\n  ${stoppedEarly.join('\n  ')}\n`);
} finally {
  server.stop();
}

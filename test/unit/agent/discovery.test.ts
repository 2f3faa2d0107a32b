import { afterEach, describe, expect, it, vi } from 'vitest';
import { addressTarget, discoverReplicas, parseDnsTarget, type DnsTarget } from '../../../agent/report/discovery.js';
import { createJsonLogger } from '../../../io/json-logger.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('replica discovery', () => {
  it('reads gRPC dns: addresses, with and without a DNS server', () => {
    expect(parseDnsTarget('cp:9967')).toBe(null);
    expect(parseDnsTarget('dns:///cp.rampart.svc:9967')).toEqual({ ok: true, value: { server: null, host: 'cp.rampart.svc', port: 9967 } });
    expect(parseDnsTarget('dns://[fd00::53]:5353/cp:1')).toEqual({ ok: true, value: { server: '[fd00::53]:5353', host: 'cp', port: 1 } });
    expect(parseDnsTarget('dns://10.96.0.10/cp:1')).toMatchObject({ ok: true, value: { server: '10.96.0.10' } });
    expect(parseDnsTarget('dns:cp:1')).toMatchObject({ ok: false });
    expect(addressTarget('fd00::1', 9967)).toBe('[fd00::1]:9967');
    expect(addressTarget('10.0.0.1', 9967)).toBe('10.0.0.1:9967');
  });

  it('reports the set when it changes, and keeps it through a failed or empty answer', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const log = createJsonLogger('info', (l) => lines.push(l));
    const answers: Array<string[] | Error> = [['10.0.0.2', '10.0.0.1'], ['10.0.0.2', '10.0.0.1'], ['10.0.0.1', '10.0.0.2', '10.0.0.3'], new Error('SERVFAIL'), [], ['10.0.0.3']];
    const target: DnsTarget = { server: null, host: 'cp.rampart.svc', port: 9967 };
    const seen: string[][] = [];
    const stop = new AbortController();
    const resolve = async (): Promise<string[]> => {
      const a = answers.shift();
      if (a === undefined) {
        stop.abort();
        return ['10.0.0.3'];
      }
      if (a instanceof Error) throw a;
      return [...a].sort();
    };
    const done = discoverReplicas(target, 1000, stop.signal, (t) => seen.push([...t]), log, resolve);
    for (let i = 0; i < 8 && !stop.signal.aborted; i++) await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(seen).toEqual([
      ['10.0.0.1:9967', '10.0.0.2:9967'],
      ['10.0.0.1:9967', '10.0.0.2:9967', '10.0.0.3:9967'],
      ['10.0.0.3:9967'],
    ]);
    // One warning for the outage (the failure and the empty answer), one line when it resolves again.
    expect(lines.filter((l) => l.includes('not resolved'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('resolve again'))).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { createJsonLogger } from '../../../io/json-logger.js';
import type { Logger } from '../../../core/common/index.js';

/** Every logger of the project, by the module that makes it. */
const LOGGERS: [string, (write: (line: string) => void) => Logger][] = [['io/json-logger', (write) => createJsonLogger('debug', write)]];

function capture(make: (write: (line: string) => void) => Logger): { log: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  return { log: make((l) => lines.push(l)), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe.each(LOGGERS)('%s', (_name, make) => {
  it('an error field: message, code and stack (style.md 2.7), not {}', () => {
    const { log, records } = capture(make);
    const e = Object.assign(new Error('cannot listen'), { code: 'EADDRINUSE' });
    log.error('start failed', { err: e });
    const err = records()[0]!['err'] as Record<string, unknown>;
    expect(err['message']).toBe('cannot listen');
    expect(err['code']).toBe('EADDRINUSE');
    expect(err['name']).toBe('Error');
    expect(String(err['stack'])).toContain('json-logger.test.ts');
  });

  it('the cause chain, each with its own message and code', () => {
    const { log, records } = capture(make);
    const root = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const mid = new Error('journal append failed', { cause: root });
    log.error('cannot advance', { err: Object.assign(new Error('state not written', { cause: mid }), { code: 'STATE_UNWRITABLE' }) });
    const err = records()[0]!['err'] as Record<string, Record<string, Record<string, unknown>>>;
    expect(err['code']).toBe('STATE_UNWRITABLE');
    expect(err['cause']!['message']).toBe('journal append failed');
    expect(err['cause']!['cause']!['code']).toBe('ENOSPC');
  });

  it('a non-Error cause and a non-Error thrown value are kept as values', () => {
    const { log, records } = capture(make);
    log.warn('odd', { err: new Error('wrapped', { cause: { status: 503 } }), thrown: 'just a string' });
    const r = records()[0]!;
    expect((r['err'] as Record<string, unknown>)['cause']).toEqual({ status: 503 });
    expect(r['thrown']).toBe('just a string');
  });

  it('errors nested in fields, and gRPC error details', () => {
    const { log, records } = capture(make);
    const grpcError = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established' });
    log.info('reconnecting', { attempt: { n: 3, last: grpcError }, errors: [new Error('a'), new Error('b')] });
    const r = records()[0]!;
    const last = (r['attempt'] as Record<string, Record<string, unknown>>)['last']!;
    expect(last).toMatchObject({ message: '14 UNAVAILABLE: No connection established', code: 14, details: 'No connection established' });
    expect((r['errors'] as Record<string, unknown>[]).map((e) => e['message'])).toEqual(['a', 'b']);
  });

  it('an AggregateError lists its errors', () => {
    const { log, records } = capture(make);
    log.error('all failed', { err: new AggregateError([new Error('one'), new Error('two')], 'every target failed') });
    const err = records()[0]!['err'] as Record<string, unknown>;
    expect(err['message']).toBe('every target failed');
    expect((err['errors'] as Record<string, unknown>[]).map((e) => e['message'])).toEqual(['one', 'two']);
  });

  it('never throws: circular fields, a cyclic cause, bigint', () => {
    const { log, records } = capture(make);
    const loop: Record<string, unknown> = { name: 'loop' };
    loop['self'] = loop;
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as Error & { cause?: unknown }).cause = b;
    expect(() => log.error('weird', { loop, err: b, big: 10n })).not.toThrow();
    const r = records()[0]!;
    expect((r['loop'] as Record<string, unknown>)['self']).toBe('[Circular]');
    expect((r['err'] as Record<string, Record<string, unknown>>)['cause']!['message']).toBe('a');
    expect(r['big']).toBe('10');
  });

  it('child fields carry errors too, and the message and level stay on top', () => {
    const { log, records } = capture(make);
    log.child({ component: 'replay', lastError: new Error('earlier') }).info('listening', { address: '127.0.0.1:1' });
    const r = records()[0]!;
    expect(r).toMatchObject({ level: 'info', msg: 'listening', component: 'replay', address: '127.0.0.1:1' });
    expect((r['lastError'] as Record<string, unknown>)['message']).toBe('earlier');
    expect(typeof r['ts']).toBe('string');
  });
});

import { describe, expect, it } from 'vitest';
import { formatJsonl, skipResult, TableReport, type LineResult } from '../../../cli/commands/evaluate-report.js';
import { aFlow, aPod, anExternal, tcp, udp } from '../../support/builders.js';

const deny = (index: number): LineResult => ({ index, uuid: `u${index}`, verdict: 'deny', egress: 'deny', ingress: 'none', policies: ['shop/default-deny'], reason: 'no rule' });

describe('formatJsonl', () => {
  it('writes the documented keys in the documented order', () => {
    const line = formatJsonl({ reason: 'r', policies: ['a/b'], ingress: 'none', egress: 'allow', verdict: 'allow', uuid: null, index: 3 });
    expect(line).toBe('{"index":3,"uuid":null,"verdict":"allow","egress":"allow","ingress":"none","policies":["a/b"],"reason":"r"}');
  });

  it('a skip line evaluates no side', () => {
    expect(JSON.parse(formatJsonl(skipResult(1, 'x', 'reply')))).toEqual({ index: 1, uuid: 'x', verdict: 'skip', egress: 'none', ingress: 'none', policies: [], reason: 'reply' });
  });
});

describe('TableReport', () => {
  it('counts verdicts and ranks denied edges by count, naming workloads', () => {
    const t = new TableReport();
    const web = aPod({ namespace: 'shop', labels: { app: 'web' } });
    const db = aPod({ namespace: 'shop', labels: {}, name: 'db-7d9f8c6b5d-x2k4p' });
    const toDb = aFlow({ source: web, destination: db, l4: tcp(5432) });
    const toDns = aFlow({ source: web, destination: aPod({ namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }), l4: udp(53) });
    const toWorld = aFlow({ source: web, destination: anExternal(), ip: { source: '10.0.0.1', destination: '1.2.3.4', version: 4 } });
    t.add(deny(0), toDb);
    t.add(deny(1), toDb);
    t.add(deny(2), toDns);
    t.add(deny(3), toWorld);
    t.add(deny(4), toWorld);
    t.add(deny(5), toWorld);
    t.add({ ...deny(6), verdict: 'allow' }, toDb);
    t.add(skipResult(7, null, 'reply'), null);
    t.add(skipResult(8, null, 'malformed line: x'), null, 'malformed line');
    t.addLostEvents(4);
    const text = t.render('title');
    expect(text.split('\n')[0]).toBe('title');
    expect(text).toContain('9 lines, 7 connection starts evaluated, 4 Hubble events lost');
    expect(text).toMatch(/^deny\s+6$/m);
    expect(text).toMatch(/^allow\s+1$/m);
    expect(text).toMatch(/^malformed line\s+1$/m);
    const edges = text.slice(text.indexOf('top denied edges')).split('\n').slice(1, 4);
    expect(edges.map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      'shop/web → world/1.2.3.4:8080/TCP 3',
      'shop/web → shop/db:5432/TCP 2',
      'shop/web → kube-system/kube-dns:53/UDP 1',
    ]);
  });

  it('says so when nothing was denied', () => {
    expect(new TableReport().render('t')).toContain('no denied edges');
  });
});

import { describe, expect, it } from 'vitest';
import { checkLabelKey, checkLabelValue, checkPortName } from '../../../../core/policy/names.js';
import { compileSelector, matchSelector } from '../../../../core/policy/selector.js';

describe('Kubernetes name grammars', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['example.com/a_b-c.d', true],
    ['a/b/c', false],
    ['Example.com/app', false],
    ['/app', false],
    ['app/', false],
    ['-app', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
  ])('label key %s valid: %s', (key, valid) => {
    expect(checkLabelKey(key) === null).toBe(valid);
  });

  it.each([
    ['', true],
    ['v1', true],
    ['Web_1.0-beta', true],
    ['-web', false],
    ['web-', false],
    ['a b', false],
    ['x'.repeat(64), false],
  ])('label value %j valid: %s', (value, valid) => {
    expect(checkLabelValue(value) === null).toBe(valid);
  });

  it.each([
    ['http', true],
    ['http-alt', true],
    ['h2c', true],
    ['80', false],
    ['HTTP', false],
    ['-http', false],
    ['http-', false],
    ['http--alt', false],
    ['a-very-long-name', false],
    ['abcdefghijklmno', true],
  ])('port name %s valid: %s', (name, valid) => {
    expect(checkPortName(name) === null).toBe(valid);
  });
});

describe('selectors against identity labels', () => {
  const sel = (matchLabels: Record<string, string>, exprs: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[] = []) =>
    compileSelector({ matchLabels, matchExpressions: exprs }, true);

  it('answers MAYBE (1) for a key Cilium filters out when the flow lacks it, NO (0) once another requirement fails', () => {
    expect(matchSelector(sel({ 'pod-template-hash': 'abc' }), { app: 'web' })).toBe(1);
    expect(matchSelector(sel({ 'pod-template-hash': 'abc', app: 'db' }), { app: 'web' })).toBe(0);
    expect(matchSelector(sel({ 'statefulset.kubernetes.io/pod-name': 'db-0' }), { 'statefulset.kubernetes.io/pod-name': 'db-0' })).toBe(2);
    expect(matchSelector(sel({ 'app.kubernetes.io/name': 'web' }), { app: 'web' })).toBe(0);
  });

  it('does not read inherited members as labels', () => {
    expect(matchSelector(sel({}, [{ key: 'constructor', operator: 'DoesNotExist', values: [] }]), {})).toBe(2);
    expect(matchSelector(sel({}, [{ key: 'constructor', operator: 'Exists', values: [] }]), {})).toBe(0);
  });

  it('namespace selectors never answer MAYBE', () => {
    const ns = compileSelector({ matchLabels: { 'kubernetes.io/metadata.name': 'shop' }, matchExpressions: [] }, false);
    expect(matchSelector(ns, { team: 'a' })).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { buildWhitelist } from '../../../cli/commands/observe.js';

// Expectations are what the upstream CLI (hubble v1.19.4) prints with --print-raw-filters.
describe('rampart observe builds the filters hubble observe builds', () => {
  it('one-sided flags and either-side --port', () => {
    expect(
      buildWhitelist({ 'to-namespace': ['shop'], 'from-pod': ['web-1'], verdict: ['DROPPED'], protocol: ['tcp'], port: ['80'] }),
    ).toEqual({
      filters: [
        { source_pod: ['web-1'], destination_pod: ['shop/'], verdict: ['DROPPED'], protocol: ['tcp'], source_port: ['80'] },
        { source_pod: ['web-1'], destination_pod: ['shop/'], verdict: ['DROPPED'], protocol: ['tcp'], destination_port: ['80'] },
      ],
    });
  });

  it('--namespace applies to either side; --type trace:to-endpoint matches sub type 0', () => {
    expect(buildWhitelist({ namespace: ['shop'], type: ['trace:to-endpoint'], 'from-label': ['app=x'] })).toEqual({
      filters: [
        { source_label: ['app=x'], event_type: [{ type: 4, match_sub_type: true, sub_type: 0 }], source_pod: ['shop/'] },
        { source_label: ['app=x'], event_type: [{ type: 4, match_sub_type: true, sub_type: 0 }], destination_pod: ['shop/'] },
      ],
    });
  });

  it('no flags, no filter; bad values are errors', () => {
    expect(buildWhitelist({})).toEqual({ filters: [] });
    expect(buildWhitelist({ type: ['nonsense'] })).toEqual({ error: '--type: unknown event type "nonsense"' });
    expect(buildWhitelist({ 'traffic-direction': ['up'] })).toMatchObject({ error: expect.stringContaining('ingress or egress') });
  });
});

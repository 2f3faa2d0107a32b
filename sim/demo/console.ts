/**
 * What the demo prints: the guide (where the dashboard is, what to look at) and one line per
 * ramp transition. Headless mode prints the same events without the guide or colours.
 */
import { stderr, stdout } from 'node:process';
import type { ContractSnapshot } from './narrator.js';

export interface Intro {
  readonly dashboard: string;
  readonly api: string;
  readonly token: string;
  readonly tokenFile: string;
  readonly logs: string;
  readonly cluster: string;
  readonly hubbles: string;
  readonly fast: boolean;
  /** The child processes (agents, control plane), so a test can prove none is left behind. */
  readonly pids: readonly number[];
}

export interface Summary {
  readonly flows: number;
  readonly connections: number;
  readonly droppedAttempts: number;
  readonly contracts: readonly ContractSnapshot[];
  readonly lateCaller: boolean;
}

export interface DemoConsole {
  intro(i: Intro): void;
  transition(now: ContractSnapshot, before: ContractSnapshot | null): void;
  lateCaller(): void;
  stopping(): void;
  summary(s: Summary): void;
  info(text: string): void;
  error(text: string): void;
}

const time = (): string => new Date().toISOString().slice(11, 19);

export function narrate(headless: boolean): DemoConsole {
  const colour = !headless && stdout.isTTY;
  const paint = (code: string, text: string): string => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const bold = (t: string): string => paint('1', t);
  const dim = (t: string): string => paint('2', t);
  const phaseColour = (phase: string): string =>
    phase === 'Complete' ? paint('32', phase) : phase === 'Blocked' || phase === 'RolledBack' ? paint('33', phase) : paint('36', phase);
  const line = (text: string): void => {
    stdout.write(`${dim(time())} ${text}\n`);
  };
  return {
    intro(i) {
      if (headless) {
        line(`demo started: api ${i.api} token-file ${i.tokenFile} pids ${i.pids.join(',')} cluster ${i.cluster} hubble ${i.hubbles} logs ${i.logs}`);
        return;
      }
      stdout.write(
        [
          '',
          bold('Rampart demo') + dim(i.fast ? ' (fast: durations compressed)' : ''),
          `  dashboard  ${bold(i.dashboard)}`,
          `  token      ${i.token}  ${dim(`(in ${i.tokenFile}; the link above carries it)`)}`,
          `  cluster    ${i.cluster}`,
          `  hubble     ${i.hubbles}`,
          `  logs       ${i.logs}`,
          '',
          bold('What to look at'),
          `  1. ${bold('payments-lockdown')} is held in monitor: a week of history looks clean, but the`,
          '     invoicing CronJob has not run yet, so the gate waits for it ("waiting for CronJob',
          '     payments/invoice-job (next run …)"). When it runs, its connection is a would-deny and',
          '     the ramp is Blocked: payments/invoice-job → payments/ledger 5432/TCP. Nothing was enforced.',
          `  2. ${bold('shop-lockdown')} is right: it ramps monitor → 10% → 50% → 100% in a few minutes,`,
          '     each decision with its reasons in the ramp timeline.',
          '  3. After it completes, a new caller (shop/price-scraper) appears. Its connections are',
          '     really dropped: watch the red actual-deny line, the live events, and',
          `     rampart_controlplane_* in ${i.api}/metrics.`,
          `  4. ${bold('data-lockdown')} is a brownfield default-deny: right only because the cluster's`,
          '     existing allows are counted (the baseline: CiliumNetworkPolicies, one of them by DNS name).',
          '     Nothing is newly denied: it goes Complete.',
          `  5. ${bold('kafka-narrow')} replaces an over-broad allow already in force (data/kafka-producers)`,
          '     with a narrow one, and forgets payments/notifier: newly denied in monitor (allowed',
          '     by the old text, denied by the new), Blocked. The demo adds the fix as a revision',
          '     (what `rampart fix` computes), which ramps to Complete.',
          `  Also: node bin/rampart.js watch --server ${i.api} --token-file ${i.tokenFile}`,
          '',
          dim('Ctrl-C stops everything.'),
          '',
        ].join('\n'),
      );
    },
    transition(now, before) {
      if (before && before.stageIndex === now.stageIndex && before.phase === now.phase) {
        line(`${bold(now.name.padEnd(18))} ${now.stageName} (${phaseColour(now.phase)}) held: ${now.reasons[0] ?? ''}`);
        return;
      }
      const from = before ? `${before.stageName} (${before.phase}) → ` : '';
      const reason = now.reasons[0] ? `: ${now.reasons[0]}` : '';
      line(`${bold(now.name.padEnd(18))} ${from}${now.stageName} (${phaseColour(now.phase)}) ${dim(now.decision)}${reason}`);
    },
    lateCaller() {
      line(`${bold('new caller'.padEnd(18))} shop/price-scraper starts calling shop/catalog:8080 (no rule allows it)`);
    },
    stopping() {
      line('stopping: agents, control plane, simulated nodes');
    },
    summary(s) {
      const states = s.contracts.map((c) => `${c.name}=${c.stageName}/${c.phase}`).join(' ');
      line(`stopped. ${s.flows} flows, ${s.connections} connections, ${s.droppedAttempts} dropped attempts; ${states}${s.lateCaller ? '; new caller was active' : ''}`);
    },
    info(text) {
      line(text);
    },
    error(text) {
      stderr.write(`${time()} rampart demo: ${text}\n`);
    },
  };
}

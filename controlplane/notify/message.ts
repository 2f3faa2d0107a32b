/**
 * What a ramp transition looks like to a chat room or an event bus (product.md "Operating
 * Rampart the Kubernetes way", Notifications): a CloudEvents 1.0 document in structured JSON
 * mode, or Slack-compatible `{"text": …}`. Pure: the notifier sends what these return.
 */
import { err, ok, type Result } from '../../core/common/index.js';

/** One transition, as the notifier needs it (main.ts maps a history entry to it). */
export interface TransitionNotice {
  /** Unique per transition (the history entry's id with the contract): receivers dedupe on it. */
  readonly id: string;
  readonly atMs: number;
  readonly contract: string;
  readonly revision: number;
  readonly stage: { readonly index: number; readonly name: string };
  readonly phase: string;
  readonly from: { readonly stage: string; readonly phase: string } | null;
  readonly decision: string;
  readonly reasons: readonly string[];
  /** The largest edges of the evidence, `from -> to:port/proto (count)` as the history keeps them. */
  readonly topEdges: readonly string[];
  readonly actor: string;
}

export type NotifyFormat = 'cloudevents' | 'slack';

export interface NotifyTarget {
  /** What is POSTed to (a `slack+` prefix removed). */
  readonly url: string;
  readonly format: NotifyFormat;
  /** The URL as logged: no query, no credentials, no path (Slack puts its secret in the path). */
  readonly label: string;
}

/** A body and its content type, ready to POST. */
export interface NotifyMessage {
  readonly contentType: string;
  readonly body: string;
}

const SLACK_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/**
 * `--notify <url>`: http(s) only. A Slack incoming-webhook host gets Slack text; so does any
 * URL written `slack+https://…` (Mattermost, Rocket.Chat and other Slack-compatible hooks).
 */
export function parseNotifyTarget(text: string): Result<NotifyTarget, string> {
  const forcedSlack = text.startsWith('slack+');
  const raw = forcedSlack ? text.slice('slack+'.length) : text;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return err(`expected an http(s) URL, got ${JSON.stringify(text)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return err(`expected an http(s) URL, got ${JSON.stringify(text)}`);
  const format: NotifyFormat = forcedSlack || SLACK_HOSTS.has(u.hostname) ? 'slack' : 'cloudevents';
  return ok({ url: u.toString(), format, label: `${u.protocol}//${u.host}` });
}

/** The CloudEvents `type` of a transition into `phase`. */
export function cloudEventType(phase: string): string {
  return `dev.rampart.contract.${phase.toLowerCase()}`;
}

export function cloudEvent(n: TransitionNotice): NotifyMessage {
  const doc = {
    specversion: '1.0',
    id: n.id,
    // The object the event is about, as its API path (a URI-reference, as the spec asks).
    source: `/apis/rampart.dev/v1alpha1/rampcontracts/${n.contract}`,
    type: cloudEventType(n.phase),
    subject: n.contract,
    time: new Date(n.atMs).toISOString(),
    datacontenttype: 'application/json',
    data: {
      contract: n.contract,
      revision: n.revision,
      stage: n.stage,
      phase: n.phase,
      from: n.from,
      decision: { kind: n.decision, reasons: n.reasons },
      topEdges: n.topEdges,
      actor: n.actor,
    },
  };
  return { contentType: 'application/cloudevents+json', body: JSON.stringify(doc) };
}

/** Slack mrkdwn needs &, < and > escaped; everything else is text. */
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const SLACK_MAX_EDGES = 5;

export function slackMessage(n: TransitionNotice): NotifyMessage {
  const from = n.from ? `${n.from.stage}/${n.from.phase} → ` : '';
  const lines = [
    `*${slackEscape(n.contract)}* (revision ${n.revision}): ${slackEscape(from)}*${slackEscape(n.stage.name)}/${slackEscape(n.phase)}* — ${slackEscape(n.decision)} by ${slackEscape(n.actor)}`,
    ...n.reasons.map((r) => `• ${slackEscape(r)}`),
  ];
  if (n.topEdges.length > 0) lines.push(`Top edges: ${n.topEdges.slice(0, SLACK_MAX_EDGES).map(slackEscape).join(', ')}`);
  return { contentType: 'application/json', body: JSON.stringify({ text: lines.join('\n') }) };
}

export function messageFor(format: NotifyFormat, n: TransitionNotice): NotifyMessage {
  return format === 'slack' ? slackMessage(n) : cloudEvent(n);
}

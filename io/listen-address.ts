/**
 * A listen address as the commands take it (`host:port`, `[v6]:port`, `:port` for every
 * IPv4 address): one reading for the HTTP, webhook and gRPC listeners.
 */
import { err, ok, type Result } from '../core/common/index.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseListen(text: string): Result<ListenAddress, string> {
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(text.trim());
  if (!m) return err(`expected host:port or :port, got ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port > 65535) return err(`port must be at most 65535, got ${port}`);
  const host = m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, '');
  return ok({ host, port });
}

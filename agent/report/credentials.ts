/**
 * gRPC channel credentials and the bearer token. TLS files are read when the channel is made;
 * the token file on every (re)connect, since projected ServiceAccount tokens rotate.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

/** TLS to a gRPC server (Hubble, the control plane): the agent's config holds one per peer. */
export interface AgentTlsConfig {
  readonly caFile: string;
  /** Client certificate and key, for mutual TLS (both or neither). */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** Overrides the name checked against the server certificate. */
  readonly serverName: string | null;
}

export function channelCredentials(tls: AgentTlsConfig | null): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (tls === null) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const ca = readFileSync(tls.caFile);
  const key = tls.keyFile ? readFileSync(tls.keyFile) : null;
  const cert = tls.certFile ? readFileSync(tls.certFile) : null;
  const options: grpc.ChannelOptions = tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
  return { credentials: grpc.credentials.createSsl(ca, key, cert), options };
}

/** Reads the token file; trailing whitespace (a newline from `echo`) is not part of the token. */
export async function readToken(file: string | null): Promise<string | null> {
  if (file === null) return null;
  const text = (await readFile(file, 'utf8')).trim();
  if (text === '') throw new Error(`token file ${file} is empty`);
  return text;
}

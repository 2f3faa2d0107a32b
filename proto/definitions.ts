/**
 * The one place the proto-loader options live (style.md 2.9). `keepCase` keeps the proto
 * field names (`source_port`, `IP`, `TCP`), which are the names `hubble observe -o json`
 * prints; enums arrive as their names; 64-bit integers as JS numbers (counts and ms
 * timestamps stay far below 2^53).
 *
 * Kept apart from loader.ts so that a process needing only the message codecs (the control
 * plane's own gRPC server) does not load grpc-js (≈ 13 MiB of RSS).
 */
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_ROOT = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist[\\/]proto$/, '/proto');

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** A proto file under proto/ (e.g. `rampart/v1/collector.proto`) as proto-loader definitions: services by full name, with each method's path and (de)serializers. */
export function loadDefinition(relativePath: string): protoLoader.PackageDefinition {
  return protoLoader.loadSync(path.join(PROTO_ROOT, relativePath), LOADER_OPTIONS);
}

/** One service's methods (e.g. `rampart.v1.Collector`). */
export function loadService(relativePath: string, fullName: string): protoLoader.ServiceDefinition {
  const found = loadDefinition(relativePath)[fullName];
  // Messages and enums carry a `format`; services are method tables.
  if (found === undefined || 'format' in found) throw new Error(`${relativePath} defines no service ${fullName}`);
  return found as protoLoader.ServiceDefinition;
}

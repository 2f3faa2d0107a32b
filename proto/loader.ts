/**
 * The one place the proto-loader options live (style.md 2.9). `keepCase` keeps the proto
 * field names (`source_port`, `IP`, `TCP`), which are the names `hubble observe -o json`
 * prints; enums arrive as their names; 64-bit integers as JS numbers (counts and ms
 * timestamps stay far below 2^53).
 */
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';

export const PROTO_ROOT = path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist[\\/]proto$/, '/proto');

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** Loads a proto file under proto/ (e.g. `rampart/v1/collector.proto`) as a grpc-js package. */
export function loadProto(relativePath: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync(path.join(PROTO_ROOT, relativePath), LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition);
}

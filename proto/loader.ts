/**
 * Proto files as grpc-js packages (clients and the test servers). The loader options and the
 * grpc-js-free definitions are in definitions.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { loadDefinition } from './definitions.js';

export { LOADER_OPTIONS, PROTO_ROOT } from './definitions.js';

/** Loads a proto file under proto/ (e.g. `rampart/v1/collector.proto`) as a grpc-js package. */
export function loadProto(relativePath: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(loadDefinition(relativePath));
}

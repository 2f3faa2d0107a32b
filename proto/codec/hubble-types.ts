/**
 * The Hubble protos (proto/hubble/) as protobufjs reflection types and as a grpc-js package,
 * loaded once. Records are the plain objects proto-loader produces with LOADER_OPTIONS
 * (proto field names, enum names, 64-bit numbers as JS numbers, oneof branch names).
 */
import * as path from 'node:path';
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { LOADER_OPTIONS, PROTO_ROOT, loadProto } from '../loader.js';

export const OBSERVER_PROTO = 'hubble/observer/observer.proto';

let root: protobuf.Root | undefined;

/** The protobufjs Root holding the flow, observer and relay packages. */
export function hubbleRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    // google/protobuf/* come bundled with protobufjs; the rest resolve from proto/.
    if (target.startsWith('google/protobuf/')) return target;
    if (path.isAbsolute(target)) return target;
    return path.join(PROTO_ROOT, target);
  };
  r.loadSync(OBSERVER_PROTO, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

export function hubbleType(fullName: string): protobuf.Type {
  return hubbleRoot().lookupType(fullName);
}

let grpcPackage: grpc.GrpcObject | undefined;

/** The grpc-js package object (`observer.Observer` service and friends). */
export function hubbleGrpc(): grpc.GrpcObject {
  grpcPackage ??= loadProto(OBSERVER_PROTO);
  return grpcPackage;
}

/** Conversion options equal to proto-loader's, for `Type.toObject`. */
export const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: LOADER_OPTIONS.defaults ?? false,
  oneofs: true,
};

/** A proto-loader-shaped message: field names as in the .proto file. */
export type PbRecord = Record<string, unknown>;

/** Decodes bytes into a record exactly as the grpc-js deserializer from proto-loader would. */
export function decodeRecord(type: protobuf.Type, bytes: Uint8Array): PbRecord {
  return type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS);
}

/** Encodes a record (proto-loader shape) to bytes, as the grpc-js serializer would. */
export function encodeRecord(type: protobuf.Type, record: PbRecord): Buffer {
  const bytes = type.encode(type.fromObject(record)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * What one server connection advertises and tolerates: the settings it sends, its windows,
 * and the bounds that keep a misbehaving peer from growing our memory.
 */
import { DEFAULT_MAX_FRAME_SIZE } from './frames.js';

/** What we advertise. A window of 1 MiB lets an agent send a large report without waiting a round trip per 64 KiB. */
export const LOCAL_SETTINGS = {
  maxConcurrentStreams: 8,
  initialWindowSize: 1 << 20,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: 64 * 1024,
  headerTableSize: 4096,
} as const;
/**
 * Twice a stream's window: one stream whose octets are held (a call not yet admitted) cannot
 * stall the others, and a client not yet admitted makes us hold at most this much.
 */
export const CONNECTION_WINDOW = 2 << 20;
/** The largest header block (HEADERS + CONTINUATIONs) we collect before calling it abuse. */
export const MAX_HEADER_BLOCK = 64 * 1024;
/** A client that has not sent its preface and SETTINGS by then is not an HTTP/2 client: its socket is closed. */
export const PREFACE_TIMEOUT_MS = 10_000;
/**
 * Octets waiting in the socket beyond which a frame that only provokes an answer (PING, DATA
 * on a closed stream) ends the connection: a peer that sends them without reading would
 * otherwise grow our write buffer without bound (nghttp2 caps these answers too).
 */
export const MAX_UNREAD_ANSWERS_BYTES = 1 << 20;
/** Payloads up to this size are copied behind their frame header into one write. */
export const COALESCE_BYTES = 1024;

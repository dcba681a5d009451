import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { packr, type CheckpointHeader } from './checkpoint-codec.js';

/** sealed: `TRPB | msgpack | sha256` */
const MAGIC = Buffer.from('TRPB');
/** sealed and signed: `TRPS | msgpack | sha256 | hmac-sha256` */
const SIGNED = Buffer.from('TRPS');
const GZIP = Buffer.from([0x1f, 0x8b]);
const HASH_BYTES = 32;
export const BUNDLE_FORMAT_VERSION = 1;

/**
 * The largest bundle `readBundle` takes, in bytes once decompressed: a small
 * gzip stream that inflates to gigabytes must not take the supervisor's memory.
 */
export const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

/**
 * Who made a bundle, as far as its signature tells: `ours` — signed with
 * the key given (this data directory's); `foreign` — signed with another
 * key; `none` — not signed (an older troupe, or sealed again by someone
 * without the key).
 */
export type BundleSignature = 'ours' | 'foreign' | 'none';

/** A self-contained export of one workflow: its checkpoints (as their verified files) and its events. */
export interface StateBundle {
  format_version: number;
  workflow_id: string;
  /** epoch ms */
  exported_at: number;
  /** the checkpoints, oldest first, each verified when it was read for the export */
  checkpoints: { header: CheckpointHeader; body: unknown }[];
  /** the workflow's event records */
  events: unknown[];
}

/** A bundle that fails its integrity check. */
export class CorruptBundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptBundleError';
  }
}

const hmac = (key: Uint8Array, data: Uint8Array) => createHmac('sha256', key).update(data).digest();

/**
 * `TRPB | msgpack bundle | sha256(all before it)`, gzipped when `compress`.
 * With a `key`, `TRPS | msgpack bundle | sha256 | hmac-sha256(key, all before it)`:
 * the sha256 says the file is whole, the HMAC who made it.
 *
 * @example
 * encodeBundle(bundle, true, await bundleKey(layout.bundleKey))
 */
export function encodeBundle(bundle: StateBundle, compress: boolean, key?: Uint8Array): Buffer {
  const unsealed = Buffer.concat([key ? SIGNED : MAGIC, packr.pack(bundle)]);
  const sealed = Buffer.concat([unsealed, createHash('sha256').update(unsealed).digest()]);
  const signed = key ? Buffer.concat([sealed, hmac(key, sealed)]) : sealed;
  return compress ? gzipSync(signed) : signed;
}

/** Decodes and verifies a bundle, gzipped or not; throws {@link CorruptBundleError}. Its signature is not judged. */
export function decodeBundle(bytes: Buffer): StateBundle {
  return readBundle(bytes).bundle;
}

/**
 * Decodes and verifies a bundle, gzipped or not, and judges its signature
 * against `key` (this data directory's; null when it has none). Throws
 * {@link CorruptBundleError} for a torn, altered, oversized or unknown file.
 * The decoded bundle is only known to be whole: what it says is untrusted.
 */
export function readBundle(bytes: Buffer, options: { key?: Uint8Array | null; maxBytes?: number } = {}): { bundle: StateBundle; signature: BundleSignature } {
  const maxBytes = options.maxBytes ?? MAX_BUNDLE_BYTES;
  const tooLarge = () => new CorruptBundleError(`larger than ${maxBytes} bytes${bytes.subarray(0, 2).equals(GZIP) ? ' once decompressed' : ''}, the most a bundle may hold`);
  let raw = bytes;
  if (bytes.subarray(0, 2).equals(GZIP)) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new CorruptBundleError(`not a valid gzip stream: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (bytes.length > maxBytes) throw tooLarge();
  const magic = raw.subarray(0, 4);
  const signed = magic.equals(SIGNED);
  const tail = signed ? 2 * HASH_BYTES : HASH_BYTES;
  if (raw.length < magic.length + tail || !(signed || magic.equals(MAGIC))) throw new CorruptBundleError('not a troupe state bundle (bad magic or too short)');
  const body = raw.subarray(0, raw.length - tail);
  const seal = raw.subarray(raw.length - tail, raw.length - tail + HASH_BYTES);
  if (!createHash('sha256').update(body).digest().equals(seal)) {
    throw new CorruptBundleError('sha256 mismatch: the bundle is torn or altered');
  }
  const signature: BundleSignature = !signed
    ? 'none'
    : options.key && timingSafeEqual(hmac(options.key, raw.subarray(0, raw.length - HASH_BYTES)), raw.subarray(raw.length - HASH_BYTES))
      ? 'ours'
      : 'foreign';
  let bundle: StateBundle;
  try {
    bundle = packr.unpack(body.subarray(MAGIC.length)) as StateBundle;
  } catch (error) {
    throw new CorruptBundleError(`undecodable msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (bundle?.format_version !== BUNDLE_FORMAT_VERSION) throw new CorruptBundleError(`unknown bundle format version ${String(bundle?.format_version)}`);
  return { bundle, signature };
}

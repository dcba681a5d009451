import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { packr, type CheckpointHeader } from './checkpoint-codec.js';

const MAGIC = Buffer.from('TRPB');
const GZIP = Buffer.from([0x1f, 0x8b]);
export const BUNDLE_FORMAT_VERSION = 1;

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

/** `TRPB | msgpack bundle | sha256(all before it)`, gzipped when `compress`. */
export function encodeBundle(bundle: StateBundle, compress: boolean): Buffer {
  const unsealed = Buffer.concat([MAGIC, packr.pack(bundle)]);
  const sealed = Buffer.concat([unsealed, createHash('sha256').update(unsealed).digest()]);
  return compress ? gzipSync(sealed) : sealed;
}

/** Decodes and verifies a bundle, gzipped or not; throws {@link CorruptBundleError}. */
export function decodeBundle(bytes: Buffer): StateBundle {
  let raw = bytes;
  if (bytes.subarray(0, 2).equals(GZIP)) {
    try {
      raw = gunzipSync(bytes);
    } catch (error) {
      throw new CorruptBundleError(`not a valid gzip stream: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (raw.length < MAGIC.length + 32 || !raw.subarray(0, 4).equals(MAGIC)) throw new CorruptBundleError('not a troupe state bundle (bad magic or too short)');
  const body = raw.subarray(0, raw.length - 32);
  if (!createHash('sha256').update(body).digest().equals(raw.subarray(raw.length - 32))) {
    throw new CorruptBundleError('sha256 mismatch: the bundle is torn or altered');
  }
  let bundle: StateBundle;
  try {
    bundle = packr.unpack(body.subarray(MAGIC.length)) as StateBundle;
  } catch (error) {
    throw new CorruptBundleError(`undecodable msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (bundle?.format_version !== BUNDLE_FORMAT_VERSION) throw new CorruptBundleError(`unknown bundle format version ${String(bundle?.format_version)}`);
  return bundle;
}

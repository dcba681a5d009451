import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';

/**
 * msgpackr options safe for files read by a later process: no records and no
 * shared structures (a loose file must decode without the writer's state),
 * extended types on, and no toJSON (snapshots are plain data).
 */
export const packr = new Packr({ useRecords: false, moreTypes: true, useToJSON: false, structuredClone: false });

const MAGIC = Buffer.from('TRPC');
export const CHECKPOINT_FORMAT_VERSION = 1;
const HASH_BYTES = 32;

/** What a checkpoint file says about itself, readable without decoding the body. */
export interface CheckpointHeader {
  format_version: number;
  machine_id: string;
  machine_version: number;
  workflow_id: string;
  seq: number;
  trigger: string;
  /** epoch ms */
  created_at: number;
  /** the workflow's epoch: bumped by restore and rollback */
  epoch: number;
  /** hex sha256 of the body: the protocol's `workflow_state_hash` */
  body_sha256: string;
  /** a name given with the manual `checkpoint` command */
  name: string | null;
}

/** A checkpoint that fails its integrity check. */
export class CorruptCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptCheckpointError';
  }
}

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest();
};

/**
 * Encodes a checkpoint: `TRPC | u32 header length | header | body | sha256(all before it)`.
 * The trailing hash covers every byte before it (magic and length too), so a
 * torn write, a zeroed tail or a flipped byte anywhere is detected.
 */
export function encodeCheckpoint(header: Omit<CheckpointHeader, 'format_version' | 'body_sha256'>, body: unknown): Buffer {
  const bodyBytes = packr.pack(body);
  const fullHeader: CheckpointHeader = {
    ...header,
    format_version: CHECKPOINT_FORMAT_VERSION,
    body_sha256: sha256(bodyBytes).toString('hex'),
  };
  const headerBytes = packr.pack(fullHeader);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(headerBytes.length);
  return Buffer.concat([MAGIC, length, headerBytes, bodyBytes, sha256(MAGIC, length, headerBytes, bodyBytes)]);
}

/** Decodes and verifies a checkpoint file's bytes; throws {@link CorruptCheckpointError}. */
export function decodeCheckpoint(bytes: Buffer): { header: CheckpointHeader; body: unknown } {
  if (bytes.length < MAGIC.length + 4 + HASH_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new CorruptCheckpointError('not a troupe checkpoint (bad magic or too short)');
  }
  const headerLength = bytes.readUInt32BE(4);
  const headerEnd = 8 + headerLength;
  if (headerEnd > bytes.length - HASH_BYTES) throw new CorruptCheckpointError('header length runs past the end of the file');
  const headerBytes = bytes.subarray(8, headerEnd);
  const bodyBytes = bytes.subarray(headerEnd, bytes.length - HASH_BYTES);
  if (!sha256(bytes.subarray(0, bytes.length - HASH_BYTES)).equals(bytes.subarray(bytes.length - HASH_BYTES))) {
    throw new CorruptCheckpointError('sha256 mismatch: the file is torn or altered');
  }
  let header: CheckpointHeader;
  let body: unknown;
  try {
    header = packr.unpack(headerBytes) as CheckpointHeader;
    body = packr.unpack(bodyBytes);
  } catch (error) {
    throw new CorruptCheckpointError(`undecodable msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (header?.format_version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CorruptCheckpointError(`unknown checkpoint format version ${String(header?.format_version)}`);
  }
  if (sha256(bodyBytes).toString('hex') !== header.body_sha256) {
    throw new CorruptCheckpointError('the body does not match the sha256 its header names');
  }
  return { header, body };
}

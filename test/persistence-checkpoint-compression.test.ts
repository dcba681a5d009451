/**
 * Checkpoint bodies stored compressed (`state_compression`): the codec and the
 * file store. What is stored round-trips, the trailing sha256 finds a flipped
 * byte before anything is inflated, the store falls back to the previous
 * version, and files of either format read in a store of either setting.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptCheckpointError, decodeCheckpoint, encodeCheckpoint, encodeCheckpointFile, packr } from '../src/persistence/checkpoint-codec.js';
import { FileCheckpointStore } from '../src/persistence/checkpoint-store.js';
import { scratchDir } from './helpers/cli.js';

const sha256hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** A body over the compression threshold: a snapshot-like record of 80 tasks with outputs. */
const bigBody = (n: number) => ({
  workflow_id: 'wf-big',
  applied_seq: n,
  snapshot: { tasks: Array.from({ length: 80 }, (_, i) => ({ task_id: `t${i}`, status: 'completed', output: { file: `src/m${i}.ts`, summary: `changed module ${i} at step ${n}` } })) },
});
const header = (seq: number) => ({ machine_id: 'workflow', machine_version: 2, workflow_id: 'wf-big', seq, trigger: 'phase', created_at: seq, epoch: 0, name: null });

/** Where the parts of an encoded checkpoint are: `TRPC | u32 len | header | stored body | sha256`. */
const bodyStart = (bytes: Buffer) => 8 + bytes.readUInt32BE(4);

describe('compressed checkpoint files', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('round-trip: stored deflated (format 2, smaller), body_sha256 is the packed body\'s, the body comes back equal', () => {
    const body = bigBody(1);
    const encoded = encodeCheckpointFile(header(1), body, { compress: true });
    expect(encoded.header).toMatchObject({ format_version: 2, compression: 'deflate-raw', body_bytes: packr.pack(body).length, body_sha256: sha256hex(packr.pack(body)) });
    expect(encoded.storedBodyBytes).toBeLessThan(encoded.bodyBytes / 3);
    const decoded = decodeCheckpoint(encoded.bytes);
    expect(decoded.body).toStrictEqual(body);
    expect(decoded.header.body_sha256).toBe(sha256hex(packr.pack(body)));
    // the same body uncompressed has the same workflow_state_hash
    expect(decodeCheckpoint(encodeCheckpoint(header(1), body)).header.body_sha256).toBe(decoded.header.body_sha256);
  });

  it('leaves a small body as it is (format 1), even with compression on', () => {
    const encoded = encodeCheckpointFile(header(1), { small: true }, { compress: true });
    expect(encoded.header.format_version).toBe(1);
    expect(encoded.header.compression).toBeUndefined();
    expect(encoded.storedBodyBytes).toBe(encoded.bodyBytes);
  });

  it('a flipped byte in a compressed body is found, and the store falls back to the previous version', async () => {
    const store = new FileCheckpointStore(dir, { compress: true });
    await store.write(header(1), bigBody(1));
    const second = await store.write(header(2), bigBody(2));
    const file = join(dir, 'wf-big', `${second.id}.ckpt`);
    const bytes = await readFile(file);
    expect(decodeCheckpoint(bytes).header.compression).toBe('deflate-raw');
    const flipped = Buffer.from(bytes);
    const at = bodyStart(bytes) + 20;
    flipped[at] = flipped[at]! ^ 0x40;
    await writeFile(file, flipped);
    await expect(store.read(second)).rejects.toThrow(/sha256 mismatch/);
    const newest = await store.loadNewestValid('wf-big');
    expect(newest.checkpoint?.info.seq).toBe(1);
    expect(newest.checkpoint?.body).toStrictEqual(bigBody(1));
    expect(newest.skipped.map((s) => [s.info.seq, s.reason])).toEqual([[2, expect.stringMatching(/sha256 mismatch/)]]);
  });

  it('a compressed body altered with the trailing hash recomputed is still refused (the header names the inflated length and hash)', () => {
    const bytes = encodeCheckpoint(header(1), bigBody(1), { compress: true });
    const start = bodyStart(bytes);
    const stored = bytes.subarray(start, bytes.length - 32);
    for (const replacement of [Buffer.concat([stored, Buffer.from([0])]), stored.subarray(0, stored.length - 1), Buffer.from(stored).fill(7, 10, 12)]) {
      const unsealed = Buffer.concat([bytes.subarray(0, start), replacement]);
      const resealed = Buffer.concat([unsealed, createHash('sha256').update(unsealed).digest()]);
      expect(() => decodeCheckpoint(resealed)).toThrow(CorruptCheckpointError);
    }
  });

  it('a store with compression on reads the files of one without, and the other way round', async () => {
    const plain = new FileCheckpointStore(dir);
    const compressing = new FileCheckpointStore(dir, { compress: true });
    const old = await plain.write(header(1), bigBody(1));
    const fresh = await compressing.write(header(2), bigBody(2));
    expect(decodeCheckpoint(await readFile(join(dir, 'wf-big', `${old.id}.ckpt`))).header.format_version).toBe(1);
    expect(decodeCheckpoint(await readFile(join(dir, 'wf-big', `${fresh.id}.ckpt`))).header.format_version).toBe(2);
    expect((await compressing.read(old)).body).toStrictEqual(bigBody(1));
    expect((await plain.read(fresh)).body).toStrictEqual(bigBody(2));
    expect(fresh.size).toBeLessThan(old.size / 3);
  });
});

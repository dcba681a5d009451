/**
 * The state bundle file (issue "Hardening", item 1): the sha256 seal says a
 * bundle is whole, the HMAC with the data directory's key says it was made
 * there; a bundle that inflates past the limit is refused before it is
 * decoded. Real files for the key.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT_VERSION, CorruptBundleError, decodeBundle, encodeBundle, readBundle, type StateBundle } from '../src/persistence/bundle-codec.js';
import { bundleKey, BundleKeyError, readBundleKey } from '../src/persistence/bundle-key.js';
import { useTempDirs } from './helpers/persistence.js';

const tempDir = useTempDirs('troupe-bundle-');

const bundle: StateBundle = { format_version: BUNDLE_FORMAT_VERSION, workflow_id: 'wf_1', exported_at: 0, checkpoints: [], events: [{ event_type: 'WORKFLOW_CREATED' }] };
const key = randomBytes(32);

describe('bundle signatures', () => {
  it.each([[true], [false]])('a bundle signed with a key reads as ours with that key, foreign with another or none (compress %s)', (compress) => {
    const bytes = encodeBundle(bundle, compress, key);
    expect(readBundle(bytes, { key })).toEqual({ bundle, signature: 'ours' });
    expect(readBundle(bytes, { key: randomBytes(32) }).signature).toBe('foreign');
    expect(readBundle(bytes, { key: null }).signature).toBe('foreign');
    expect(decodeBundle(bytes)).toEqual(bundle);
    expect(readBundle(encodeBundle(bundle, compress), { key }).signature).toBe('none');
  });

  it('an edited bundle sealed again without the key is not ours; one edited and not sealed again is corrupt', () => {
    const signed = encodeBundle(bundle, false, key);
    // a flipped signature byte: whole, but not provably from here
    const forged = Buffer.from(signed);
    forged[forged.length - 1]! ^= 0xff;
    expect(readBundle(forged, { key }).signature).toBe('foreign');
    // an edit under the seal
    const edited = Buffer.from(signed);
    edited[10]! ^= 0xff;
    expect(() => readBundle(edited, { key })).toThrow(new CorruptBundleError('sha256 mismatch: the bundle is torn or altered'));
    // the edit sealed again, as anyone can
    expect(readBundle(encodeBundle({ ...bundle, workflow_id: 'other' }, false), { key }).signature).toBe('none');
  });

  it('a bundle larger than the limit, decompressed or not, is refused before it is decoded', () => {
    expect(() => readBundle(gzipSync(Buffer.alloc(4096)), { maxBytes: 1024 })).toThrow(new CorruptBundleError('larger than 1024 bytes once decompressed, the most a bundle may hold'));
    expect(() => readBundle(Buffer.alloc(4096), { maxBytes: 1024 })).toThrow(new CorruptBundleError('larger than 1024 bytes, the most a bundle may hold'));
    expect(readBundle(encodeBundle(bundle, true), { maxBytes: 1024 }).bundle).toEqual(bundle);
  });
});

describe('the bundle key', () => {
  it('is made once, 32 random bytes with mode 0600; makers at the same time end with one key', async () => {
    const path = join(await tempDir(), 'bundle.key');
    expect(await readBundleKey(path)).toBeNull();
    const keys = await Promise.all([bundleKey(path), bundleKey(path), bundleKey(path)]);
    expect(keys[0]!.length).toBe(32);
    expect(keys[1]).toEqual(keys[0]);
    expect(keys[2]).toEqual(keys[0]);
    expect(await readFile(path)).toEqual(keys[0]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await bundleKey(path)).toEqual(keys[0]);
  });

  it('a key others can read, or of the wrong size, is refused with BUNDLE_KEY_INVALID', async () => {
    const path = join(await tempDir(), 'bundle.key');
    await bundleKey(path);
    await chmod(path, 0o644);
    await expect(readBundleKey(path)).rejects.toThrow(new BundleKeyError(path, 'has mode 0644'));
    await writeFile(path, 'short');
    await chmod(path, 0o600);
    await expect(bundleKey(path)).rejects.toMatchObject({ code: 'BUNDLE_KEY_INVALID', message: `The bundle key ${path} holds 5 bytes; it must be 32 bytes, readable by its owner only (mode 0600)` });
  });
});

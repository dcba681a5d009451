/**
 * msgpackr decodes strings with its native extractor where msgpackr-extract
 * has a prebuilt binary for the platform (installed from the lock file by
 * `npm ci`), and in pure JavaScript elsewhere. Checkpoints must read the
 * same either way: bytes written by one process are decoded by a process
 * with native acceleration off, and compared.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, msgpackNative, type CheckpointHeaderInput } from '../src/persistence/checkpoint-codec.js';
import { ROOT } from './helpers/cli.js';

/** Strings of every length class msgpackr's extractor handles differently: short, long, non-ASCII, many. */
const body = {
  short: 'ok',
  ascii: 'x'.repeat(70),
  long: 'troupe '.repeat(2_000),
  unicode: 'naïve – 東京 – 🎭 '.repeat(40),
  many: Array.from({ length: 500 }, (_, i) => ({ id: `task_${i}`, note: i % 7 === 0 ? 'é'.repeat(i % 50) : `n${i}` })),
  nested: { deep: [{ a: 'α', b: ['β', 'γ', { c: 'δ'.repeat(100) }] }] },
  numbers: [0, -1, 2 ** 40, 3.5],
};

const header: CheckpointHeaderInput = { machine_id: 'workflow', machine_version: 1, workflow_id: 'wf_native', seq: 1, trigger: 'manual', created_at: Date.UTC(2026, 11, 2), epoch: 0, name: null };

/** msgpackr-extract publishes prebuilt binaries for these; elsewhere msgpackr decodes in pure JavaScript. */
const PREBUILT = ['linux-x64', 'linux-arm64', 'linux-arm', 'darwin-x64', 'darwin-arm64', 'win32-x64'].includes(`${process.platform}-${process.arch}`);

describe('msgpack decoding, native and pure JavaScript', () => {
  it.runIf(PREBUILT)('is native where a prebuilt binary exists: msgpackr-extract installs from the lock file', () => {
    // `health` (runtime.msgpack_native_acceleration) and the bench header report the same
    expect(msgpackNative()).toBe(true);
  });

  it('reads the same checkpoint with native acceleration off as with it on', () => {
    const bytes = encodeCheckpoint(header, body, { compress: false });
    const script = `
      const { decodeCheckpoint, msgpackNative } = await import(${JSON.stringify(`${ROOT}/src/persistence/checkpoint-codec.ts`)});
      const chunks = [];
      for await (const chunk of process.stdin) chunks.push(chunk);
      const { body } = decodeCheckpoint(Buffer.concat(chunks));
      process.stdout.write(JSON.stringify({ native: msgpackNative(), body }));
    `;
    const decode = (disabled: boolean) => {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        input: bytes,
        encoding: 'utf8',
        env: { ...process.env, MSGPACKR_NATIVE_ACCELERATION_DISABLED: disabled ? 'true' : 'false' },
      });
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { native: boolean; body: unknown };
    };
    const pure = decode(true);
    expect(pure.native).toBe(false);
    expect(pure.body).toEqual(body);
    const native = decode(false);
    expect(native.native).toBe(PREBUILT);
    expect(native.body).toEqual(pure.body);
  });
});

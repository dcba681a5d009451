import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { CorruptCheckpointError, decodeCheckpoint, encodeCheckpoint } from './checkpoint-codec.js';
import { mkdirPrivate } from './private-files.js';

/**
 * A loose state file beside the checkpoints (`agent_pools/pool.ckpt`,
 * `metrics/kpis.ckpt`): the checkpoint frame (magic, header, msgpack body,
 * sha256 over everything), so a torn, zeroed or altered file is detected the
 * same way, written atomically (temp file, fsync, rename, fsync of the
 * directory). The header's machine id names what the file holds; the
 * workflow fields of the header are unused.
 */
export type StateFileRead =
  | { status: 'ok'; body: unknown; created_at: number }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

export async function writeStateFile(path: string, kind: string, version: number, createdAt: number, body: unknown): Promise<void> {
  await mkdirPrivate(dirname(path));
  const bytes = encodeCheckpoint({ machine_id: kind, machine_version: version, workflow_id: 'global', seq: 0, trigger: 'state', created_at: createdAt, epoch: 0, name: null }, body);
  await writeFileAtomic(path, bytes);
}

/** Reads a state file of `kind` written in `version`; anything else (another kind, another version, a bad checksum) is `corrupt`. */
export async function readStateFile(path: string, kind: string, version: number): Promise<StateFileRead> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'corrupt', reason: `unreadable: ${(error as Error).message}` };
  }
  try {
    const { header, body } = decodeCheckpoint(bytes);
    if (header.machine_id !== kind) return { status: 'corrupt', reason: `holds ${String(header.machine_id)}, not ${kind}` };
    if (header.machine_version !== version) return { status: 'corrupt', reason: `written in version ${String(header.machine_version)} of its format; this troupe reads version ${version}` };
    return { status: 'ok', body, created_at: header.created_at };
  } catch (error) {
    if (error instanceof CorruptCheckpointError) return { status: 'corrupt', reason: error.message };
    throw error;
  }
}

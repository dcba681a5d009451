/**
 * Regression tests for issue "Hardening", item 1: load-state trusted the
 * bundle. A bundle's sha256 seal proves only that the file is whole: anyone
 * can edit a bundle and seal it again. Every bundle loaded here was written
 * by save-state, edited, and sealed again properly (checkpoint body hashes
 * included), as an attacker would.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type ErrorResponse, type Hub, type HubResponse } from '../src/index.js';
import { decodeBundle, encodeBundle, type StateBundle } from '../src/persistence/bundle-codec.js';
import { packr } from '../src/persistence/checkpoint-codec.js';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir` (relative path -> sha256 of its content), directories as `path/`. */
async function tree(dir: string, root = dir): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) Object.assign(out, { [`${relative(root, path)}/`]: 'dir' }, await tree(path, root));
    else out[relative(root, path)] = sha256(await readFile(path));
  }
  return out;
}

/** A checkpoint body as far as these tests edit it. */
interface Body {
  workflow_id: string;
  snapshot: { value: unknown; context: { id: string; spec: { phases: { tasks: { input: Record<string, unknown> }[] }[] } } };
}
const bodyOf = (c: StateBundle['checkpoints'][number]) => c.body as Body;

/** Reads a bundle, lets `edit` change it, and seals it again as save-state would (without this data directory's key). */
async function craft(from: string, to: string, edit: (bundle: StateBundle) => void): Promise<string> {
  const bundle = decodeBundle(await readFile(from));
  edit(bundle);
  for (const c of bundle.checkpoints) c.header.body_sha256 = sha256(packr.pack(c.body));
  await writeFile(to, encodeBundle(bundle, true));
  return to;
}

/** Gives every id inside the bundle the value `id`, so they all agree. */
function relabel(bundle: StateBundle, id: string): void {
  bundle.workflow_id = id;
  for (const c of bundle.checkpoints) {
    c.header.workflow_id = id;
    bodyOf(c).workflow_id = id;
    bodyOf(c).snapshot.context.id = id;
  }
  for (const e of bundle.events as { workflow_id: string }[]) e.workflow_id = id;
}

const errorOf = (response: HubResponse): ErrorResponse['error'] => {
  expect(response.status, JSON.stringify(response)).toBe('error');
  return (response as ErrorResponse).error;
};

const definition = (command = 'true') => ({
  name: 'trust',
  phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'exec', input: { command }, depends_on: ['a'] }] }],
});

describe('Hardening item 1: load-state treats the bundle as untrusted', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let hubs: Hub[] = [];
  const open = async (name: string) => {
    const hub = createHub({ maxThreads: 1, dataDir: join(root, name) });
    hubs.push(hub);
    await hub.ready;
    return hub;
  };
  const close = async (hub: Hub) => {
    hubs = hubs.filter((h) => h !== hub);
    await hub.close({ graceMs: 0 });
  };

  /** A bundle save-state wrote in its own data directory: `wf`, created, or started then paused. */
  async function saved(state: 'created' | 'paused'): Promise<string> {
    const hub = await open('source');
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: definition() }));
    if (state === 'paused') {
      ok(await hub.execute({ operation: 'start', workflow_id: 'wf' }));
      ok(await hub.execute({ operation: 'pause', workflow_id: 'wf' }));
      expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('paused');
    }
    const path = join(root, 'honest.troupe');
    ok(await hub.execute({ operation: 'save-state', workflow_id: 'wf', parameters: { path } }));
    await close(hub);
    return path;
  }

  beforeEach(async () => {
    ({ dir: root, cleanup } = await scratchDir());
    // a directory next to the data directory that a bundle must never reach
    await mkdir(join(root, 'victim'));
    await writeFile(join(root, 'victim', 'keep.txt'), 'precious');
  });
  afterEach(async () => {
    for (const hub of hubs) await hub.close({ graceMs: 0 });
    hubs = [];
    await cleanup();
  });

  it.each([
    ['../../victim', 'holds "/"'],
    ['../victim', 'holds "/"'],
    ['ABSOLUTE', 'holds "/"'],
    ['a/b', 'holds "/"'],
    ['..', 'starts with "."'],
    ['.hidden', 'starts with "."'],
    ['a..b', 'holds ".."'],
    ['x'.repeat(129), 'is 129 characters long'],
  ])('a bundle whose ids are all %j is refused with INVALID_ID; nothing in or outside the data directory changes', async (raw, why) => {
    const id = raw === 'ABSOLUTE' ? join(root, 'victim') : raw;
    const path = await craft(await saved('paused'), join(root, 'crafted.troupe'), (b) => relabel(b, id));
    const hub = await open('data');
    const before = await tree(root);
    const error = errorOf(await hub.execute({ operation: 'load-state', parameters: { path, overwrite: true } }));
    expect(error.code).toBe('INVALID_ID');
    expect(error.message).toBe(
      `The bundle ${path} names workflow id ${JSON.stringify(id)}, which cannot name a file: it ${why}. Ids become file names in the data directory, so they use letters, digits, "_", "." and "-", start with a letter or digit, hold no "..", and are at most 128 characters`,
    );
    expect(await tree(root)).toEqual(before);
    expect(await readFile(join(root, 'victim', 'keep.txt'), 'utf8')).toBe('precious');
    expect(ok(await hub.execute({ operation: 'list-workflows' })).workflows).toEqual([]);
  });

  it.each([
    ['the top-level id', (b: StateBundle) => void (b.workflow_id = 'other'), 'its workflow_id is "other", but checkpoint 1 header says "wf"'],
    ['a checkpoint header', (b: StateBundle) => void (b.checkpoints.at(-1)!.header.workflow_id = 'other'), 'its workflow_id is "wf", but checkpoint LAST header says "other"'],
    ['a checkpoint body', (b: StateBundle) => void (bodyOf(b.checkpoints.at(-1)!).workflow_id = 'other'), 'its workflow_id is "wf", but checkpoint LAST body says "other"'],
    ['a snapshot', (b: StateBundle) => void (bodyOf(b.checkpoints[0]!).snapshot.context.id = 'other'), 'its workflow_id is "wf", but checkpoint 1 snapshot says "other"'],
    ['an event', (b: StateBundle) => void ((b.events[0] as { workflow_id: string }).workflow_id = 'other'), 'its workflow_id is "wf", but event 1 says "other"'],
  ])('a bundle where %s names another workflow is refused with BUNDLE_INCONSISTENT; that workflow keeps its checkpoints', async (_where, edit, says) => {
    const honest = await saved('created');
    const count = decodeBundle(await readFile(honest)).checkpoints.length;
    const path = await craft(honest, join(root, 'crafted.troupe'), edit);
    const hub = await open('data');
    ok(await hub.execute({ operation: 'create', workflow_id: 'other', parameters: { name: 'mine', phases: ['p'] } }));
    const before = await tree(root);
    const error = errorOf(await hub.execute({ operation: 'load-state', parameters: { path } }));
    expect(error.code).toBe('BUNDLE_INCONSISTENT');
    expect(error.message).toBe(`The bundle ${path} is not one workflow: ${says.replace('LAST', String(count))}`);
    expect(await tree(root)).toEqual(before);
    expect(ok(await hub.execute({ operation: 'get-status', workflow_id: 'other' })).workflow_state).toMatchObject({ name: 'mine', status: 'created' });
  });

  it.each([
    ['the newest checkpoint does not fit the workflow machine', (b: StateBundle) => void (bodyOf(b.checkpoints.at(-1)!).snapshot.value = { active: 'nowhere' }), 'CHECKPOINT_INCOMPATIBLE'],
    ['an older checkpoint comes from machine version 99', (b: StateBundle) => void (b.checkpoints[0]!.header.machine_version = 99), 'CHECKPOINT_INCOMPATIBLE'],
    ['a trigger cannot be a file name', (b: StateBundle) => void (b.checkpoints[0]!.header.trigger = '../x'), 'BUNDLE_INCONSISTENT'],
    ['two checkpoints share a seq', (b: StateBundle) => void (b.checkpoints[1]!.header.seq = b.checkpoints[0]!.header.seq), 'BUNDLE_INCONSISTENT'],
    ['an event has a type outside the registry', (b: StateBundle) => void ((b.events[0] as { event_type: string }).event_type = 'BOGUS'), 'BUNDLE_INCONSISTENT'],
    ['a task names a handler this hub does not have', (b: StateBundle) => b.checkpoints.forEach((c) => ((bodyOf(c).snapshot.context.spec.phases[0]!.tasks[1] as unknown as { handler: string }).handler = 'teleport')), 'HANDLER_NOT_FOUND'],
    ['a checkpoint interval of 0 (a timer that fires at once, forever)', (b: StateBundle) => b.checkpoints.forEach((c) => ((bodyOf(c).snapshot.context.spec as unknown as { checkpointIntervalMs: number }).checkpointIntervalMs = 0)), 'VALIDATION_FAILED'],
    ['a timeout is a string where create stores ms', (b: StateBundle) => void ((bodyOf(b.checkpoints.at(-1)!).snapshot.context.spec as unknown as { timeoutMs: unknown }).timeoutMs = '2h'), 'BUNDLE_INCONSISTENT'],
    ['a task id of its definition would leave the logs directory', (b: StateBundle) => b.checkpoints.forEach((c) => ((bodyOf(c).snapshot.context.spec.phases[0]!.tasks[0] as unknown as { id: string }).id = '../a')), 'INVALID_ID'],
  ])('with overwrite, a bundle where %s is refused before anything on disk changes', async (_what, edit, code) => {
    const path = await craft(await saved('paused'), join(root, 'crafted.troupe'), edit);
    const hub = await open('data');
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: { name: 'mine', phases: ['p'] } }));
    const before = await tree(root);
    expect(errorOf(await hub.execute({ operation: 'load-state', parameters: { path, overwrite: true } })).code).toBe(code);
    expect(await tree(root)).toEqual(before);
    expect(ok(await hub.execute({ operation: 'get-status', workflow_id: 'wf' })).workflow_state).toMatchObject({ name: 'mine', status: 'created' });
  });

  it('a bundle whose state the machine cannot hold is refused, and the supervisor process lives on (XState rethrew from a timer)', async () => {
    const path = await craft(await saved('paused'), join(root, 'crafted.troupe'), (b) => void (bodyOf(b.checkpoints.at(-1)!).snapshot.value = { active: 'nowhere' }));
    const cli = await runCli(['--data-dir', join(root, 'data')], { stdin: `load-state ${JSON.stringify({ path })}\nlist-workflows\n` });
    const answers = jsonLines(cli.stdout);
    expect(answers.map((a) => a.error?.code ?? a.status)).toEqual(['CHECKPOINT_INCOMPATIBLE', 'success']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).not.toContain('does not exist');
  });

  it('a running workflow whose exec command was edited loads paused: nothing runs after load-state or a restart, only after resume', async () => {
    const marker = join(root, 'victim', 'ran');
    const path = await craft(await saved('paused'), join(root, 'crafted.troupe'), (b) => {
      for (const c of b.checkpoints) bodyOf(c).snapshot.context.spec.phases[0]!.tasks[1]!.input.command = `touch '${marker}'`;
      // the newest state says running: a load that honoured it would dispatch at once
      bodyOf(b.checkpoints.at(-1)!).snapshot.value = { active: 'running' };
    });
    let hub = await open('data');
    const loaded = ok(await hub.execute({ operation: 'load-state', parameters: { path } }));
    expect(loaded).toMatchObject({ workflow_id: 'wf', status: 'paused', status_in_bundle: 'running', origin: 'elsewhere', paused_on_load: true });
    // the answer shows what resume would run, edited command included
    expect(loaded.tasks_to_run).toContainEqual({ phase: 'p', task_id: 'b', handler: 'exec', input: { command: `touch '${marker}'` } });
    // `wait` answers at once for a paused workflow; a running one would first run both tasks
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('paused');
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });

    await close(hub);
    hub = await open('data');
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('paused');
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });

    ok(await hub.execute({ operation: 'resume', workflow_id: 'wf' }));
    expect(ok(await hub.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('completed');
    expect((await stat(marker)).isFile()).toBe(true);
  });

  it('every imported checkpoint is stored paused: a restart that falls back past a damaged import checkpoint runs nothing', async () => {
    const marker = join(root, 'victim', 'ran');
    const path = await craft(await saved('paused'), join(root, 'crafted.troupe'), (b) => {
      for (const c of b.checkpoints) bodyOf(c).snapshot.context.spec.phases[0]!.tasks[1]!.input.command = `touch '${marker}'`;
      bodyOf(b.checkpoints.at(-1)!).snapshot.value = { active: 'running' };
    });
    const hub = await open('data');
    ok(await hub.execute({ operation: 'load-state', parameters: { path } }));
    await close(hub);
    // the newest checkpoint (load-state's own) is damaged: recovery falls back to the bundle's newest
    const dir = join(root, 'data', 'checkpoints', 'wf');
    const newest = join(dir, (await readdir(dir)).sort().at(-1)!);
    expect(newest).toMatch(/-import\.ckpt$/);
    const bytes = await readFile(newest);
    bytes[bytes.length - 40]! ^= 0xff;
    await writeFile(newest, bytes);
    const again = await open('data');
    expect(ok(await again.execute({ operation: 'health' })).recovery.recovered).toEqual([
      expect.objectContaining({ workflow_id: 'wf', status: 'paused', skipped_checkpoints: [expect.objectContaining({ id: expect.stringMatching(/-import$/) })] }),
    ]);
    expect(ok(await again.execute({ operation: 'wait', workflow_id: 'wf' })).status).toBe('paused');
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('load-state tells a bundle made in this data directory from one made (or edited) elsewhere', async () => {
    const hub = await open('data');
    ok(await hub.execute({ operation: 'create', workflow_id: 'wf', parameters: definition() }));
    const path = join(root, 'here.troupe');
    ok(await hub.execute({ operation: 'save-state', workflow_id: 'wf', parameters: { path } }));
    expect((await stat(join(root, 'data', 'bundle.key'))).mode & 0o777).toBe(0o600);
    expect(ok(await hub.execute({ operation: 'load-state', parameters: { path, overwrite: true } }))).toMatchObject({ origin: 'this data directory', status: 'created', epoch: 1 });
    // sealed again without the key, unchanged: no longer provably from here
    const resealed = await craft(path, join(root, 'resealed.troupe'), () => {});
    const answer = await hub.execute({ operation: 'load-state', parameters: { path: resealed, overwrite: true } });
    // above the epoch of the workflow it replaces, so their idempotency keys never meet
    expect(ok(answer)).toMatchObject({ origin: 'elsewhere', status: 'created', epoch: 2 });
    expect(answer.status === 'success' && answer.next_steps).toEqual([
      "Made elsewhere: check tasks_to_run (the handlers and inputs, e.g. exec commands, that start runs) before 'wf start'",
      "Nothing runs until 'wf start'",
    ]);
    // another data directory has its own key
    const other = await open('other');
    expect(ok(await other.execute({ operation: 'load-state', parameters: { path } }))).toMatchObject({ origin: 'elsewhere' });
  });
});

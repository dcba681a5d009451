/**
 * User handlers through the hub: a configured handler runs tasks; one whose
 * module or export is missing is refused at create with HANDLER_NOT_FOUND
 * (saying why), and the hub, its other handlers and its workflows go on.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TroupeError } from '../src/index.js';
import { closeHub, fails, makeHub, ok, run, taskOf, statusOf, waitFor } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const handlers = {
  greet: './fixtures/handlers/faulty.mjs#ok',
  crash: './fixtures/handlers/faulty.mjs#exits',
  ghost: './fixtures/handlers/faulty.mjs#nope',
  broken: './fixtures/handlers/broken-at-import.mjs',
};

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function userHub() {
  const made = makeHub({ handlers, handlersBaseDir: here });
  cleanup = () => closeHub(made.hub, made.clock);
  return made;
}

describe('a configured user handler', () => {
  it('runs a workflow task with its input', async () => {
    const { hub } = userHub();
    await run(hub, 'wf_user', { name: 'user', phases: [{ name: 'p', tasks: [{ id: 'hi', handler: 'greet', input: { who: 'you' } }] }] });
    expect((await waitFor(hub, 'wf_user')).status).toBe('completed');
    expect(taskOf(await statusOf(hub, 'wf_user'), 'hi').output).toMatchObject({ input: { who: 'you' } });
  });

  it('that crashes its worker fails its task; the workflow ends as its tolerance says and the hub serves on', async () => {
    const { hub } = userHub();
    await run(hub, 'wf_crash', {
      name: 'crash',
      failure_tolerance: 'high',
      phases: [{ name: 'p', tasks: [{ id: 'bad', handler: 'crash' }, { id: 'good', handler: 'greet' }] }],
    });
    expect((await waitFor(hub, 'wf_crash')).status).toBe('partial');
    const state = await statusOf(hub, 'wf_crash');
    expect(taskOf(state, 'bad').error).toMatchObject({ code: 'WORKER_CRASHED' });
    expect(taskOf(state, 'good').status).toBe('completed');
    await run(hub, 'wf_after', { name: 'after', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'greet' }] }] });
    expect((await waitFor(hub, 'wf_after')).status).toBe('completed');
  });
});

describe('a handler that cannot run', () => {
  it('is refused at create with HANDLER_NOT_FOUND and the reason, for a missing export and a module that throws', async () => {
    const { hub } = userHub();
    const ghost = await fails(hub, { operation: 'create', workflow_id: 'wf_g', parameters: { name: 'g', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'ghost' }] }] } });
    expect(ghost.error).toMatchObject({ code: 'HANDLER_NOT_FOUND', message: expect.stringContaining('configured but cannot run') });
    expect(ghost.error.details).toContain('has no export nope');
    const broken = await fails(hub, { operation: 'create', workflow_id: 'wf_b', parameters: { name: 'b', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'broken' }] }] } });
    expect(broken.error.details).toContain('broken at import on purpose');
    // nothing was created
    await fails(hub, { operation: 'get-status', workflow_id: 'wf_g' });
  });

  it('an unknown handler lists the built-in and the configured ones', async () => {
    const { hub } = userHub();
    const unknown = await fails(hub, { operation: 'create', workflow_id: 'wf_u', parameters: { name: 'u', phases: [{ name: 'p', tasks: [{ id: 't', handler: 'nobody' }] }] } });
    expect(unknown.error.code).toBe('HANDLER_NOT_FOUND');
    expect(unknown.error.details).toContain('exec, approval, greet, crash, ghost, broken');
    await ok(hub, { operation: 'list-workflows' });
  });

  it('a handlers option that can never work is refused when the hub is made', () => {
    expect(() => makeHub({ handlers: { exec: './x.js#run' } })).toThrow(TroupeError);
  });
});

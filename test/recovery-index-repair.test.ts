/**
 * Issue "Hardening" (the index): a deleted `workflows/<shelf>/<id>.wf` made
 * the workflow invisible while `create` said it existed. At start, a
 * workflow with checkpoints and no index record gets its record back from
 * its newest valid checkpoint; one whose checkpoints cannot say where it
 * stands is reported, and `create` says what to do.
 */
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../src/index.js';
import { eachTestDataDir } from './helpers/cli.js';
import { ok } from './helpers/responses.js';

const echo = (id: string) => ({ id, handler: 'echo', input: { value: id } });

describe('a workflow whose index record was lost', () => {
  const data = eachTestDataDir();
  const open = () => data.open();

  it('is found from its checkpoints at start, its record rebuilt on the right shelf, and it is visible again', async () => {
    const a = await open();
    ok(await a.execute({ operation: 'create', workflow_id: 'wf_new', parameters: { name: 'new one', phases: [{ name: 'p', tasks: [echo('t')] }] } }));
    ok(await a.execute({ operation: 'create', workflow_id: 'wf_done', parameters: { name: 'done one', phases: [{ name: 'p', tasks: [echo('t')] }] } }));
    ok(await a.execute({ operation: 'start', workflow_id: 'wf_done' }));
    expect(ok(await a.execute({ operation: 'wait', workflow_id: 'wf_done' })).status).toBe('completed');
    await a.close();
    await rm(join(data.dir(), 'workflows', 'active', 'wf_new.wf'));
    await rm(join(data.dir(), 'workflows', 'completed', 'wf_done.wf'));

    const b = await open();
    const listed = ok(await b.execute({ operation: 'list-workflows' })).workflows.map((w: { workflow_id: string; status: string }) => [w.workflow_id, w.status]);
    expect(listed).toEqual([
      ['wf_done', 'completed'],
      ['wf_new', 'created'],
    ]);
    const health = ok(await b.execute({ operation: 'health' }));
    expect(health.recovery.index_repaired).toEqual([
      { workflow_id: 'wf_done', shelf: 'completed', status: 'completed', checkpoint: expect.stringMatching(/-end$/) },
      { workflow_id: 'wf_new', shelf: 'active', status: 'created', checkpoint: expect.stringMatching(/-create$/) },
    ]);
    expect(health.recovery.failed).toEqual([]);
    expect(health.components.find((c: { component_id: string }) => c.component_id === 'store').status).toBe('degraded');
    const notices = b.events().filter((e) => e.event_type === 'ERROR_ENCOUNTERED' && e.data.component === 'index');
    expect(notices.map((e) => [e.workflow_id, e.severity, e.data.action])).toEqual([
      ['wf_done', 'warning', expect.stringMatching(/^rebuilt workflows\/completed\/wf_done\.wf from checkpoint /)],
      ['wf_new', 'warning', expect.stringMatching(/^rebuilt workflows\/active\/wf_new\.wf from checkpoint /)],
    ]);
    await access(join(data.dir(), 'workflows', 'active', 'wf_new.wf'));
    await access(join(data.dir(), 'workflows', 'completed', 'wf_done.wf'));
    // and it goes on where it was
    ok(await b.execute({ operation: 'start', workflow_id: 'wf_new' }));
    expect(ok(await b.execute({ operation: 'wait', workflow_id: 'wf_new' })).status).toBe('completed');
  });

  it('with no readable checkpoint either, it is reported in health, and create says why and how to free the id', async () => {
    const a = await open();
    ok(await a.execute({ operation: 'create', workflow_id: 'wf_lost', parameters: { name: 'lost', phases: ['p'] } }));
    await a.close();
    await rm(join(data.dir(), 'workflows', 'active', 'wf_lost.wf'));
    const [only] = await readdir(join(data.dir(), 'checkpoints', 'wf_lost'));
    await writeFile(join(data.dir(), 'checkpoints', 'wf_lost', only!), 'not a checkpoint');

    const b = await open();
    const health = ok(await b.execute({ operation: 'health' }));
    expect(health.recovery.failed).toEqual([{ workflow_id: 'wf_lost', code: 'CHECKPOINT_CORRUPT', message: expect.stringContaining('Workflow wf_lost has no index record and none of its checkpoints passes its check') }]);
    expect(health.recovery.index_repaired).toEqual([]);
    const refused = await b.execute({ operation: 'create', workflow_id: 'wf_lost', parameters: { name: 'again', phases: ['p'] } });
    expect(refused).toMatchObject({
      status: 'error',
      error: {
        code: 'WORKFLOW_EXISTS',
        message: `Workflow wf_lost already exists in the data directory ${data.dir()}, but it was not loaded`,
        details: expect.stringMatching(/^At start it could not be recovered: CHECKPOINT_CORRUPT: Workflow wf_lost has no index record/),
      },
    });
    expect(refused.status === 'error' && refused.recovery_suggestions).toEqual([
      "See 'health' (recovery.failed) for what the start found, and run 'troupe check' for each checkpoint's verdict",
      'To reuse the id, stop the supervisor and move checkpoints/wf_lost/ out of the data directory',
      'Pick another workflow id: an id stays taken after cleanup, so its history stays unambiguous',
    ]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createPalette, formatResponse } from '../src/cli/format.js';
import { createHub, type Hub } from '../src/index.js';

const definition = { name: 'nap', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'sleep', input: { ms: 60_000 } }, { id: 'b', handler: 'noop', depends_on: ['a'] }] }] };

describe("the status tree says why a person paused or cancelled a workflow", () => {
  let hub: Hub;
  afterEach(() => hub.close({ graceMs: 0 }));

  it('shows the pause reason while paused, and the cancel reason after', async () => {
    hub = createHub({ maxThreads: 1 });
    await hub.ready;
    await hub.execute({ operation: 'create', workflow_id: 'wf_r', parameters: definition });
    await hub.execute({ operation: 'start', workflow_id: 'wf_r' });
    expect((await hub.execute({ operation: 'pause', workflow_id: 'wf_r', parameters: { reason: 'coffee' } })).status).toBe('success');
    const p = createPalette(false);
    const paused = formatResponse(p, await hub.execute({ operation: 'get-status', workflow_id: 'wf_r' }));
    expect(paused.split('\n')[1]).toBe('  paused: coffee');
    await hub.execute({ operation: 'cancel', workflow_id: 'wf_r', parameters: { reason: 'not today' } });
    const cancelled = formatResponse(p, await hub.execute({ operation: 'get-status', workflow_id: 'wf_r' }));
    expect(cancelled).toContain('  cancelled: not today');
    expect(cancelled).not.toContain('paused: coffee');
  });
});

import { describe, expect, it } from 'vitest';
import { forTheShell } from '../src/cli/shell-steps.js';
import type { HubResponse } from '../src/index.js';

const again = (command: string) => `troupe ${command} --data-dir /d`;
const success = (next_steps: string[]): HubResponse => ({ status: 'success', operation: 'x', timestamp: '', result: {}, metrics: { execution_time: '0ms' }, next_steps });

describe('next steps as a shell user types them', () => {
  it('turns REPL lines into troupe commands: its own command where there is one, else troupe exec', () => {
    const shown = forTheShell(success(["Resume with 'wf_1 resume'", 'wf_1 cleanup', "See them with 'list-workflows'", "Ask 'health' first"]), again);
    expect(shown.status === 'success' && shown.next_steps).toEqual([
      'Resume with `troupe resume wf_1 --data-dir /d`',
      "troupe exec --data-dir /d 'wf_1 cleanup'",
      'See them with `troupe ls --data-dir /d`',
      "Ask `troupe exec --data-dir /d 'health'` first",
    ]);
  });

  it('leaves prose alone, and an operation that needs a workflow named alone', () => {
    const steps = ['Pass the --data-dir the workflow was run with', "Create new workflow with 'create' operation", "quoted 'not a command'"];
    const error: HubResponse = { status: 'error', operation: 'x', timestamp: '', error: { code: 'E', message: 'm', details: '' }, recovery_suggestions: steps };
    const shown = forTheShell(error, again);
    expect(shown.status === 'error' && shown.recovery_suggestions).toEqual(steps);
  });
});

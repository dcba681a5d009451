import { describe, expect, it } from 'vitest';
import { createPalette, formatResponse } from '../src/cli/format.js';
import { makeHub, closeHub } from './hub-fixtures.js';

describe('the human output of a response', () => {
  it('shows what a command did instead of what was asked (warnings), before what to do next', async () => {
    const { hub, clock } = makeHub();
    try {
      await hub.execute({ operation: 'create', workflow_id: 'wf_w', parameters: { name: 'w', phases: ['p'], dependencies: ['database'] } });
      const response = await hub.execute({ operation: 'get-status', workflow_id: 'wf_w' });
      const created = await hub.execute({ operation: 'create', workflow_id: 'wf_v', parameters: { name: 'v', phases: ['p'], dependencies: ['database'] } });
      expect(created.status === 'success' && created.warnings?.length).toBeGreaterThan(0);
      const text = formatResponse(createPalette(false), created);
      const warning = text.split('\n').find((l) => l.startsWith('  ! '));
      expect(warning).toContain('database');
      // warnings come after the body and before the next steps
      expect(text.indexOf('  ! ')).toBeLessThan(text.indexOf('  → ') === -1 ? Infinity : text.indexOf('  → '));
      expect(formatResponse(createPalette(false), response)).not.toContain('  ! ');
    } finally {
      await closeHub(hub, clock);
    }
  });
});

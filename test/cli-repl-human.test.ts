/**
 * The real `troupe` binary: in a terminal (the REPL, human output) the
 * operations with data print tables and `help` lists the REPL's own
 * commands; with standard input not a terminal it prints the JSON responses
 * as they are.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';
import { repl } from './helpers/pty.js';

describe('troupe, the operations with data', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('are shown as tables in the REPL', async () => {
    const r = repl(join(dir, 'data'));
    try {
      await r.until('troupe> ');
      r.type('wf_1 create @examples/hello.yaml\r');
      await r.until('✓ create wf_1');
      r.type('wf_1 start\r');
      await r.until('created → ▶ running');
      r.type('wf_1 wait\r');
      await r.until('✓ wait wf_1  ✓ completed', 1, 30_000);
      r.type('metrics\r');
      await r.until('agent utilization');
      r.type('health\r');
      await r.until('task-logs');
      r.type('wf_1 list-checkpoints\r');
      await r.until('checkpoints of wf_1, oldest first');
      r.type('help\r');
      await r.until('quit                     Leave the REPL');
      r.type('help watch\r');
      await r.until('typed in the interactive REPL');
      r.type('quit\r');
      expect(await r.exited).toBe(0);
    } finally {
      r.kill();
    }
    const screen = r.output();
    expect(screen).toMatch(/KPI +ALL TIME +LAST 24H +TARGET/);
    expect(screen).toMatch(/workflow completion rate +100% ✓ +100% ✓ +> 95%/);
    expect(screen).toMatch(/COMPONENT +STATUS +RESPONSE +SUCCESS +ACTIVE +QUEUE +LAST ACTIVE/);
    expect(screen).toMatch(/\nstore +✓ healthy +- +-/);
    expect(screen).toMatch(/CHECKPOINT +SEQ +TRIGGER +NAME +CREATED +EPOCH +SIZE +INTEGRITY/);
    expect(screen).toMatch(/0000000001-create +1 +create +- +(just now|\d+[smhd] ago) +0 +[\d.]+ (B|KB) +✓ ok/);
    expect(screen).toMatch(/watch <workflow-id> +Draw the workflow's phase\/task tree/);
    // each group heading once
    expect(screen.match(/\nlifecycle\r?\n/g)).toHaveLength(1);
    expect(screen).not.toContain('✓ metrics');
  }, 60_000);

  it('are the JSON responses themselves when standard input is not a terminal', async () => {
    const script = ['metrics', 'help watch', 'get-events {"event_type":"TASK_DONE"}', 'wf_1 create {"name":"x","phases":[{"name":"p","tasks":[{"id":"a","handler":"ecoh"}]}]}'].join('\n');
    const result = await runCli(['--data-dir', join(dir, 'data')], { stdin: `${script}\n` });
    const [metrics, watch, events, created] = jsonLines(result.stdout);
    expect(Object.keys(metrics!.result)).toEqual(['workflow_efficiency', 'agent_performance', 'event_throughput', 'kpis', 'system_health']);
    expect(watch).toMatchObject({ status: 'success', operation: 'help', result: { operation: 'watch', usage: 'watch <workflow-id>', group: 'session' } });
    expect(events!.error.details).toContain('Unknown event type "TASK_DONE"\nThe event types: WORKFLOW_CREATED');
    expect(created!.error).toMatchObject({ code: 'HANDLER_NOT_FOUND', message: expect.stringContaining('did you mean echo?') });
    expect(result.code).toBe(1);
  });
});

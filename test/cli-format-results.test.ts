/**
 * The human output of every operation with data (what the REPL and `troupe
 * attach` print): real responses of a real hub with a data directory, through
 * formatResponse. Tables have their cells under their headers, fit 100
 * columns, and the response itself (what --json prints) is left as it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPalette, formatResponse } from '../src/cli/format.js';
import { FORMATTED_OPERATIONS } from '../src/cli/format-results.js';
import { OPERATION_NAMES, type Hub, type HubResponse, type ManualClock } from '../src/index.js';
import { closeHub, makeHub, ok, run, until, waitFor } from './hub-fixtures.js';

const p = createPalette(false);

/** The human form of a response; formatting it leaves the response (the --json output) unchanged. */
function human(response: HubResponse): string {
  const before = JSON.stringify(response);
  const text = formatResponse(p, response);
  expect(JSON.stringify(response)).toBe(before);
  // the hub's own sentences (next steps) are printed as they are; everything else fits the screen
  for (const line of text.split('\n').filter((l) => !l.startsWith('  → '))) expect(line.length, line).toBeLessThanOrEqual(100);
  return text;
}

/** The table that starts with the header line holding every one of `headers`: its header and its rows (until a blank or unindented non-row line). */
function tableOf(text: string, headers: string[]): { header: string; rows: string[] } {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => headers.every((h) => l.includes(h)));
  expect(at, `a header with ${headers.join(', ')} in:\n${text}`).toBeGreaterThanOrEqual(0);
  const rows: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === '' || line.startsWith('  → ') || /^[a-z]+: |^\d+ (of|checkpoint|workflow)/.test(line)) break;
    rows.push(line);
  }
  return { header: lines[at]!, rows };
}

/** The text with the wrapped lines of `label  value` blocks joined again. */
const unwrapped = (text: string) => text.replace(/\n {8,}(?=\S)/g, ' ');

/** The text of a row under a header column (up to the next column's start). */
function cellUnder(header: string, row: string, column: string, next?: string): string {
  const from = header.indexOf(column);
  return row.slice(from, next === undefined ? undefined : header.indexOf(next)).trim();
}

describe('the human form of each operation', () => {
  let hub: Hub;
  let clock: ManualClock;
  let dir: string;
  const say = async (command: Record<string, unknown>) => human(await ok(hub, command));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'troupe-format-'));
    ({ hub, clock } = makeHub({ dataDir: join(dir, 'data') }));
    await hub.ready;
    await run(hub, 'wf_1', {
      name: 'release',
      phases: [
        { name: 'build', tasks: [{ id: 'compile', handler: 'echo', input: { value: 1 } }, { id: 'say', handler: 'exec', depends_on: ['compile'], input: { command: 'echo first line; echo second line' } }] },
        { name: 'gate', tasks: [{ id: 'ship', handler: 'approval', input: { prompt: 'Ship release 1.4?' } }] },
      ],
    });
    await until(async () => ((await ok(hub, { operation: 'approvals' })).result as { count: number }).count > 0, 'the approval', 15_000);
  });

  afterAll(async () => {
    await closeHub(hub, clock);
    await rm(dir, { recursive: true, force: true });
  });

  it('has a form of its own for every operation (get-status keeps its tree in format.ts)', () => {
    expect(OPERATION_NAMES.filter((op) => op !== 'get-status' && !FORMATTED_OPERATIONS.includes(op))).toEqual([]);
  });

  it('approvals: what waits, as a table', async () => {
    const { header, rows } = tableOf(await say({ operation: 'approvals' }), ['WORKFLOW', 'TASK', 'PROMPT', 'ASKED', 'DEADLINE']);
    expect(rows).toHaveLength(1);
    expect(cellUnder(header, rows[0]!, 'WORKFLOW', 'TASK')).toBe('wf_1');
    expect(cellUnder(header, rows[0]!, 'TASK', 'PROMPT')).toBe('ship');
    expect(cellUnder(header, rows[0]!, 'PROMPT', 'ASKED')).toBe('Ship release 1.4?');
    expect(cellUnder(header, rows[0]!, 'DEADLINE')).toBe('none');
    const answered = await say({ operation: 'approve', workflow_id: 'wf_1', parameters: { task_id: 'ship', by: 'alice' } });
    expect(answered.split('\n')[0]).toBe('✓ approve wf_1  approved ship by alice');
    expect((await waitFor(hub, 'wf_1')).status).toBe('completed');
    expect(await say({ operation: 'approvals' })).toBe('nothing waits for an approval');
  });

  it('metrics: the KPIs beside their targets, then workflows, agents, events and the system', async () => {
    const text = await say({ operation: 'metrics' });
    const { header, rows } = tableOf(text, ['KPI', 'ALL TIME', 'LAST 24H', 'TARGET']);
    expect(rows.map((r) => cellUnder(header, r, 'KPI', 'ALL TIME'))).toEqual(['workflow completion rate', 'parallel efficiency', 'conflict rate', 'recovery success rate', 'agent utilization']);
    const completion = rows[0]!;
    expect(completion).toMatch(/100% ✓\s+100% ✓\s+> 95%$/);
    expect(rows.find((r) => r.startsWith('recovery success rate'))).toMatch(/-\s+-\s+>= 90%$/);
    for (const label of ['workflows', 'agents', 'events', 'system']) expect(text).toMatch(new RegExp(`^${label} +\\S`, 'm'));
    expect(unwrapped(text)).toMatch(/^workflows +1 \(those ended took .+ on average\); 100% of phases completed; tasks 3 completed, 0 failed, 0 retries$/m);
  });

  it('health: each component with its status and figures, the handlers, workflows, storage, recovery and resources', async () => {
    const text = await say({ operation: 'health' });
    expect(text.split('\n')[0]).toMatch(/^health (✓ healthy|! degraded)$/);
    const { header, rows } = tableOf(text, ['COMPONENT', 'STATUS', 'RESPONSE', 'SUCCESS', 'ACTIVE', 'QUEUE', 'LAST ACTIVE']);
    expect(rows.map((r) => cellUnder(header, r, 'COMPONENT', 'STATUS'))).toEqual(['hub', 'task-pool', 'store', 'log', 'task-logs', 'event-hub']);
    const store = rows.find((r) => r.startsWith('store'))!;
    expect(cellUnder(header, store, 'STATUS', 'RESPONSE')).toBe('✓ healthy');
    // the store keeps no timings of its own: not measured, shown as -
    expect(cellUnder(header, store, 'RESPONSE', 'SUCCESS')).toBe('-');
    expect(cellUnder(header, rows.find((r) => r.startsWith('task-pool'))!, 'SUCCESS', 'ACTIVE')).toBe('100%');
    expect(text).toMatch(/^handlers +noop, echo 1 run, sleep, cpu, fail, exec 1 run$/m);
    expect(text).toMatch(/^workflows +1 completed$/m);
    expect(text).toMatch(/^storage +writable$/m);
    expect(text).toMatch(/^recovery +nothing to recover \(start took \d+ms\)$/m);
    expect(unwrapped(text)).toMatch(/^resources +in use: nothing; 0 allocations, 0 queued; capacity: \d+ agents/m);
  });

  it('list-checkpoints: every checkpoint with its trigger, name, size and integrity', async () => {
    await say({ operation: 'checkpoint', workflow_id: 'wf_1', parameters: { name: 'before-deploy' } });
    const listed = await ok(hub, { operation: 'list-checkpoints', workflow_id: 'wf_1' });
    const ids = (listed.result as { checkpoints: { checkpoint_id: string }[] }).checkpoints.map((c) => c.checkpoint_id);
    const text = human(listed);
    const { header, rows } = tableOf(text, ['CHECKPOINT', 'SEQ', 'TRIGGER', 'NAME', 'CREATED', 'SIZE', 'INTEGRITY']);
    expect(rows.map((r) => cellUnder(header, r, 'CHECKPOINT', 'SEQ'))).toEqual(ids);
    expect(rows.map((r) => cellUnder(header, r, 'TRIGGER', 'NAME'))).toEqual(['create', 'start', 'phase', 'end', 'manual']);
    expect(cellUnder(header, rows.at(-1)!, 'NAME', 'CREATED')).toBe('before-deploy');
    expect(rows.every((r) => r.endsWith('✓ ok'))).toBe(true);
    expect(rows.every((r) => /^\d+(\.\d)? (B|KB)$/.test(cellUnder(header, r, 'SIZE', 'INTEGRITY')))).toBe(true);
    expect(text).toContain(`${ids.length} checkpoints of wf_1, oldest first`);
  });

  it('list-workflows and monitor-pool: aligned tables', async () => {
    const workflows = tableOf(await say({ operation: 'list-workflows' }), ['WORKFLOW', 'NAME', 'STATUS', 'PRIORITY', 'PROGRESS', 'PHASE', 'UPDATED']);
    expect(workflows.rows).toHaveLength(1);
    expect(cellUnder(workflows.header, workflows.rows[0]!, 'STATUS', 'PRIORITY')).toBe('✓ completed');
    // a right-aligned figure ends where its header ends
    const progressEnd = workflows.header.indexOf('PROGRESS') + 'PROGRESS'.length;
    expect(workflows.rows[0]!.slice(0, progressEnd).endsWith('100%')).toBe(true);
    const pool = await say({ operation: 'monitor-pool' });
    const agents = tableOf(pool, ['AGENT', 'ROLE', 'STATE', 'BREAKER', 'LOAD', 'SUCCESS', 'SCORE', 'DONE']);
    expect(cellUnder(agents.header, agents.rows[0]!, 'ROLE', 'STATE')).toBe('general');
    expect(pool).toMatch(/^pool: 1 agent of \d+ at most, 0 busy/m);
    expect(pool).toMatch(/^threads: \d+\/\d+, /m);
  });

  it('get-events: one event a line, its data as key=value words', async () => {
    const text = await say({ operation: 'get-events', workflow_id: 'wf_1', parameters: { event_type: 'TASK_COMPLETED' } });
    const { header, rows } = tableOf(text, ['SEQ', 'TIME (UTC)', 'SEVERITY', 'TYPE', 'WHERE', 'DATA']);
    expect(rows.map((r) => cellUnder(header, r, 'TYPE', 'WHERE'))).toEqual(['TASK_COMPLETED', 'TASK_COMPLETED', 'TASK_COMPLETED']);
    expect(cellUnder(header, rows[0]!, 'WHERE', 'DATA')).toBe('wf_1/build');
    expect(cellUnder(header, rows[0]!, 'DATA')).toMatch(/^task_id=compile agent_id=agent_\d+ /);
    expect(text).toContain('3 of 3 events');
  });

  it('logs: a heading per task, then what it printed', async () => {
    expect(await say({ operation: 'logs', workflow_id: 'wf_1', parameters: { task_id: 'say' } })).toBe('── say attempt 1, completed\nfirst line\nsecond line');
  });

  it('list-templates: each template, what it does, its params as a table', async () => {
    const text = await say({ operation: 'list-templates' });
    expect(text).toMatch(/^bug-fix \(builtin\)\n {2}Reproduce, diagnose, fix/m);
    const { header, rows } = tableOf(text, ['PARAM', 'TYPE', 'DEFAULT', 'DESCRIPTION']);
    expect(cellUnder(header, rows[0]!, 'PARAM', 'TYPE')).toBe('issue');
    expect(cellUnder(header, rows[0]!, 'DEFAULT', 'DESCRIPTION')).toBe('"BUG-1"');
    expect(text).toMatch(/^looked in: builtin .+templates \(\d+\)$/m);
  });

  it('request-resources, dead-letters and redrive: the verdict and what it holds', async () => {
    await ok(hub, { operation: 'create', workflow_id: 'wf_res', parameters: { name: 'res', phases: ['p'] } });
    const granted = await say({ operation: 'request-resources', workflow_id: 'wf_res', parameters: { resources: { agents: 2, memory_gb: 4, exclusive_files: ['package.json'] } } });
    expect(granted.split('\n')[0]).toBe('✓ request-resources wf_res  approved');
    expect(granted).toMatch(/^ {2}allocation +alloc_\w+$/m);
    expect(granted).toMatch(/^ {2}granted +2 agents, 4 GB memory, exclusive package\.json$/m);
    await ok(hub, { operation: 'subscribe-event', parameters: { callback: 'pager', patterns: ['SYSTEM_MAINTENANCE.#'], target: { type: 'exec', command: 'exit 3' }, retry_policy: { max_retries: 0 } } });
    await ok(hub, { operation: 'publish-event', parameters: { event_type: 'SYSTEM_MAINTENANCE', data: { operation_type: 'disk swap', estimated_duration: '5m', impact: 'none' } } });
    await until(async () => ((await ok(hub, { operation: 'dead-letters' })).result as { total: number }).total > 0, 'a dead letter', 10_000);
    const letters = await say({ operation: 'dead-letters' });
    const { header, rows } = tableOf(letters, ['DEAD LETTER', 'SUBSCRIPTION', 'EVENT', 'WORKFLOW', 'WHEN', 'REASON']);
    expect(cellUnder(header, rows[0]!, 'EVENT', 'WORKFLOW')).toMatch(/^#\d+ SYSTEM_MAINTENANCE$/);
    expect(cellUnder(header, rows[0]!, 'REASON')).toBe('exec target exited with 3');
    expect(await say({ operation: 'redrive' })).toMatch(/^✓ redrive {2}1 dead letter delivered again: dl_\w+$/);
  });

  it('an error\'s long details are wrapped to the screen, their indentation kept', async () => {
    const refused = await hub.execute({ operation: 'get-events', parameters: { event_type: 'TASK_DONE' } });
    const text = formatResponse(p, refused);
    expect(text.split('\n').slice(1).every((l) => l.length <= 100)).toBe(true);
    expect(text).toContain('\n  ✖ Unknown event type "TASK_DONE"\n  The event types: WORKFLOW_CREATED, ');
    expect(text).toContain('\n    → at event_type\n');
  });

  it('a complete with a report shows the tree of the report', async () => {
    await run(hub, 'wf_2', { name: 'early', phases: [{ name: 'p', tasks: [{ id: 'slow', handler: 'sleep', input: { ms: 60_000 } }] }] });
    const text = await say({ operation: 'complete', workflow_id: 'wf_2' });
    expect(text).toMatch(/^✓ complete wf_2 {2}running → ✓ completed\nreport\nwf_2 {2}early/);
    expect(text).toMatch(/└─ slow +⊘ cancelled/);
  });
});

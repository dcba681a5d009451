/**
 * `help` as the REPL prints it: every group once, the REPL's own commands
 * listed with the operations, and each parameter's type in words (never a
 * JSON Schema type such as ["string","number"] or "any").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPalette, formatResponse } from '../src/cli/format.js';
import { answerLine } from '../src/cli/repl.js';
import { LocalTarget } from '../src/cli/socket-client.js';
import { OPERATION_NAMES, OPERATIONS, type Hub, type ManualClock } from '../src/index.js';
import { closeHub, makeHub, ok } from './hub-fixtures.js';

const p = createPalette(false);

describe('help in the REPL', () => {
  let hub: Hub;
  let clock: ManualClock;
  beforeAll(() => ({ hub, clock } = makeHub()));
  afterAll(() => closeHub(hub, clock));

  const helpText = async (line: string) => {
    const response = await answerLine(new LocalTarget(hub), line);
    expect(response?.status, JSON.stringify(response)).toBe('success');
    return formatResponse(p, response!);
  };

  it('lists every operation once, under its group, each group once, then the REPL commands', async () => {
    const text = await helpText('help');
    const headings = text.split('\n').filter((l) => /^[a-z]+(\s|$)/.test(l) && !l.startsWith('usage'));
    expect(headings.map((h) => h.split(' ')[0])).toEqual(['lifecycle', 'state', 'tasks', 'agents', 'events', 'recovery', 'system', 'session']);
    for (const name of OPERATION_NAMES) expect(text.match(new RegExp(`^ {2}${name} +\\S`, 'gm')), name).toHaveLength(1);
    // an operation stands under its own group
    const groupOf = new Map<string, string>();
    let group = '';
    for (const line of text.split('\n')) {
      if (headings.includes(line)) group = line.split(' ')[0]!;
      const name = /^ {2}(\S+) /.exec(line)?.[1];
      if (name) groupOf.set(name, group);
    }
    for (const name of OPERATION_NAMES) expect(groupOf.get(name), name).toBe(OPERATIONS[name].group);
    expect(text).toMatch(/^ {2}watch <workflow-id> +Draw the workflow's phase\/task tree and redraw it live/m);
    expect(text).toMatch(/^ {2}correlate <id> +The commands after it carry correlation_id <id>/m);
    expect(text).toMatch(/^ {2}quit +Leave the REPL/m);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('describes each parameter with its type in words', async () => {
    for (const name of OPERATION_NAMES) {
      const text = await helpText(`help ${name}`);
      // the examples are commands to copy whole: JSON, and as long as they are
      const described = text.slice(0, text.indexOf('\nexample\n') === -1 ? undefined : text.indexOf('\nexample\n'));
      expect(described, name).not.toMatch(/\["(string|number|integer|boolean|object|array|null)"/);
      expect(described, name).not.toMatch(/^ {2}\S+ +any(;.*)?$/m);
      for (const line of described.split('\n')) expect(line.length, `${name}: ${line}`).toBeLessThanOrEqual(100);
    }
    const start = await helpText('help start');
    expect(start).toMatch(/^start {2}\(lifecycle\)\n {2}Start a created workflow/);
    expect(start).toContain('\nusage\n  <workflow-id> start [params]\n');
    expect(start).toMatch(/^ {2}checkpoint_interval +duration such as 30s, 15m or 2h \(a number: milliseconds\)$/m);
    expect(start).toMatch(/^ {2}resume_from_phase +whole number \(1 or more\) or text$/m);
    expect(start).toMatch(/^ {2}failure_tolerance +one of: low, medium, high, intervene$/m);
    expect(start).toMatch(/^ {2}agent_pool_size +whole number \(1 to 20\)\n +agents to have ready before the first task$/m);
    expect(start).toContain('parameters  (all optional)');
    const complete = await helpText('help complete');
    expect(complete).toMatch(/^ {2}cleanup_resources +yes\/no \(true or false\); default true$/m);
    expect(complete).toMatch(/^ {2}notify_stakeholders +list of text$/m);
    expect(await helpText('help skip-task')).toMatch(/^ {2}output +any JSON value$/m);
    expect(await helpText('help get-events')).toMatch(/^ {2}severity +one of: debug, info, warning, error, critical, or a list of them$/m);
    expect(await helpText('help approve')).toMatch(/^ {2}by +text; required$/m);
    expect(await helpText('help subscribe-event')).toMatch(/^ {2}retry_policy +object \{max_retries\?, backoff_strategy\?, backoff_base\?\}; default \{\}$/m);
  });

  it('keeps the JSON type of a parameter and adds its type in words as accepts', async () => {
    const one = (await ok(hub, { operation: 'help', parameters: { operation: 'wait' } })).result as { parameters: { name: string; type: unknown; accepts: string }[] };
    expect(one.parameters).toEqual([expect.objectContaining({ name: 'timeout', type: ['string', 'number'], accepts: 'duration such as 30s, 15m or 2h (a number: milliseconds)', default: '60s' })]);
  });

  it('describes the REPL commands too (help watch), not only the operations', async () => {
    const watch = await helpText('help watch');
    expect(watch).toBe(
      [
        'watch  (session)',
        "  Draw the workflow's phase/task tree and redraw it live until the workflow ends or a key is pressed",
        '',
        'usage',
        '  watch <workflow-id>',
        '  typed in the interactive REPL (troupe, troupe attach)',
        '',
        'example',
        '  watch wf_1',
      ].join('\n'),
    );
    expect(await helpText('help correlate')).toContain('  correlate <id>  |  correlate off  |  correlate\n  typed in the REPL, scripts');
    expect(await helpText('help exit')).toMatch(/^quit {2}\(session\)/);
    // an operation of that name would win; a name that is neither is the hub's UNKNOWN_OPERATION
    const unknown = await answerLine(new LocalTarget(hub), 'help wach');
    expect(unknown).toMatchObject({ status: 'error', error: { code: 'UNKNOWN_OPERATION' } });
  });
});

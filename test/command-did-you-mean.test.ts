/**
 * Names the hub does not know are refused with the closest name it does
 * ("did you mean") and the names there are: event types (get-events,
 * subscribe-event's filters) and task handlers (create).
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES, type Hub, type ManualClock } from '../src/index.js';
import { closeHub, fails, makeHub } from './hub-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));

let made: { hub: Hub; clock: ManualClock } | undefined;
afterEach(async () => {
  if (made) await closeHub(made.hub, made.clock);
  made = undefined;
});
const hubWith = (options = {}) => (made = makeHub(options)).hub;

describe('an unknown event type', () => {
  it('is refused by get-events with every event type listed', async () => {
    const response = await fails(hubWith(), { operation: 'get-events', parameters: { event_type: 'TASK_DONE' } });
    expect(response.error.code).toBe('VALIDATION_FAILED');
    const details = response.error.details;
    expect(details).toContain('✖ Unknown event type "TASK_DONE"\nThe event types: WORKFLOW_CREATED, WORKFLOW_STARTED,');
    for (const type of EVENT_TYPES) expect(details).toContain(type);
    expect(details).toContain('→ at event_type');
    // nothing close: no guess
    expect(details).not.toContain('did you mean');
  });

  it('names the closest type, in either case and inside a list', async () => {
    const hub = hubWith();
    const one = await fails(hub, { operation: 'get-events', parameters: { event_type: 'task_complete' } });
    expect(one.error.details).toContain('Unknown event type "TASK_COMPLETE": did you mean TASK_COMPLETED?');
    const listed = await fails(hub, { operation: 'get-events', parameters: { event_type: ['TASK_COMPLETED', 'TASK_FIALED'] } });
    expect(listed.error.details).toContain('item 1: Unknown event type "TASK_FIALED": did you mean TASK_FAILED?');
    const filtered = await fails(hub, { operation: 'subscribe-event', parameters: { callback: 'x', target: { type: 'exec', command: 'true' }, filters: { event_type: 'WORKFLOW_COMPLETE' } } });
    expect(filtered.error.details).toContain('did you mean WORKFLOW_COMPLETED?');
    expect(filtered.error.details).toContain('→ at filters.event_type');
  });

  it('leaves other one-or-many values with their own message, not a bare "Invalid input"', async () => {
    const response = await fails(hubWith(), { operation: 'get-events', parameters: { severity: 'warn' } });
    expect(response.error.details).toContain('expected one of "debug"|"info"|"warning"|"error"|"critical"');
    expect(response.error.details).not.toContain('Invalid input\n');
  });
});

describe('a task naming an unknown handler', () => {
  const create = (handler: string) => ({ operation: 'create', workflow_id: 'wf_h', parameters: { name: 'h', phases: [{ name: 'p', tasks: [{ id: 'a', handler }] }] } });

  it('is refused at create with the closest built-in handler and the available ones', async () => {
    const response = await fails(hubWith(), create('ecoh'));
    expect(response.error).toEqual({
      code: 'HANDLER_NOT_FOUND',
      message: 'Task a (phases[0].tasks[0]) uses handler ecoh, which does not exist: did you mean echo?',
      details: "Available handlers: noop, echo, sleep, cpu, fail, exec, approval. User handlers are named in the config's 'handlers'",
    });
    expect(response.recovery_suggestions[0]).toBe('Use handler "echo"');
    // a compensation's handler is checked the same way
    const compensate = await fails(made!.hub, { operation: 'create', workflow_id: 'wf_c', parameters: { name: 'c', phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', compensate: { handler: 'sleeep' } }] }] } });
    expect(compensate.error.message).toBe('The compensate of task a (phases[0].tasks[0]) uses handler sleeep, which does not exist: did you mean sleep?');
  });

  it('names a configured handler when it is the closest, and lists the configured ones', async () => {
    const response = await fails(hubWith({ handlers: { greet: './fixtures/handlers/faulty.mjs#ok' }, handlersBaseDir: here }), create('gret'));
    expect(response.error.message).toContain('uses handler gret, which does not exist: did you mean greet?');
    expect(response.error.details).toBe("Available handlers: noop, echo, sleep, cpu, fail, exec, approval, greet. User handlers are named in the config's 'handlers'");
  });

  it('guesses nothing for a name close to none', async () => {
    const response = await fails(hubWith(), create('kubernetes'));
    expect(response.error.message).toBe('Task a (phases[0].tasks[0]) uses handler kubernetes, which does not exist');
    expect(response.recovery_suggestions).not.toContain(expect.stringMatching(/^Use handler/));
  });
});

/**
 * The command boundary of `hub.execute` (DESIGN §3, §5): malformed commands,
 * unknown and planned operations, missing or bad workflow ids, unknown
 * parameters, and the response envelope. Property tests throw random JSON at
 * it: it never throws and always answers a well-formed response.
 */
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHub,
  createManualClock,
  ErrorCode,
  OPERATION_NAMES,
  OPERATIONS,
  type ErrorResponse,
  type Hub,
  type HubResponse,
  type ManualClock,
} from '../src/index.js';
import { ISO } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;

beforeAll(async () => {
  clock = createManualClock(Date.parse('2030-01-02T03:04:05.678Z'));
  hub = createHub({ maxThreads: 1, clock });
  // one workflow that exists, in state `created` (nothing ever runs in this file)
  const created = await hub.execute({ operation: 'create', workflow_id: 'wf_here', parameters: { name: 'here', phases: ['p'] } });
  expect(created.status).toBe('success');
});

afterAll(async () => {
  await hub.close({ graceMs: 0 });
});

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** Codes whose responses carry no recovery suggestion today (see the BUG in command-error-responses.test.ts). */
const NO_SUGGESTION_YET = new Set<string>(['PERSISTENCE_DISABLED', 'HUB_CLOSED', 'CHECKPOINT_NOT_FOUND', 'CHECKPOINT_CORRUPT', 'CHECKPOINT_INCOMPATIBLE']);

/** Checks the envelope every response has. */
function checkEnvelope(response: HubResponse, command: unknown): void {
  const raw = (typeof command === 'object' && command !== null ? command : {}) as Record<string, unknown>;
  expect(['success', 'error']).toContain(response.status);
  expect(response.operation).toBe(typeof raw.operation === 'string' ? raw.operation : '');
  if (typeof raw.workflow_id === 'string') expect(response.workflow_id).toBe(raw.workflow_id);
  else expect(response).not.toHaveProperty('workflow_id');
  expect(response.timestamp).toMatch(ISO);
  if (response.status === 'error') {
    expect(KNOWN_CODES.has(response.error.code), response.error.code).toBe(true);
    expect(response.error.code).not.toBe('INTERNAL_ERROR');
    expect(typeof response.error.message).toBe('string');
    expect(typeof response.error.details).toBe('string');
    // BUG (documented in command-error-responses.test.ts): some codes answer without a suggestion yet
    if (!NO_SUGGESTION_YET.has(response.error.code)) expect(response.recovery_suggestions.length).toBeGreaterThan(0);
  } else {
    expect(Array.isArray(response.next_steps)).toBe(true);
    expect(response.metrics.execution_time).toMatch(/^\d+(\.\d+)?(ms|s)$/);
  }
}

async function errorOf(command: unknown): Promise<ErrorResponse> {
  const response = await hub.execute(command);
  checkEnvelope(response, command);
  expect(response.status, JSON.stringify(response)).toBe('error');
  return response as ErrorResponse;
}

const MALFORMED = 'The command is malformed';
/** The one id rule (src/persistence/safe-id.ts), naming the id and what breaks it. */
const ID_RULE = (id: string, why: string) =>
  `✖ Workflow id ${JSON.stringify(id)} cannot name a file: it ${why}. Ids become file names in the data directory, so they use letters, digits, "_", "." and "-", start with a letter or digit, hold no "..", and are at most 128 characters\n  → at workflow_id`;

describe('bad commands get the exact code, message and details', () => {
  const rows: { name: string; command: unknown; code: string; message: string; details: string }[] = [
    { name: 'a typo of start', command: { operation: 'strat', workflow_id: 'wf_here' }, code: 'UNKNOWN_OPERATION', message: 'Unknown operation strat', details: 'Did you mean start?' },
    { name: 'a typo of create', command: { operation: 'craete', workflow_id: 'x' }, code: 'UNKNOWN_OPERATION', message: 'Unknown operation craete', details: 'Did you mean create?' },
    { name: 'a typo of get-status', command: { operation: 'getstatus', workflow_id: 'x' }, code: 'UNKNOWN_OPERATION', message: 'Unknown operation getstatus', details: 'Did you mean get-status?' },
    {
      name: 'an operation nothing resembles',
      command: { operation: 'frobnicate' },
      code: 'UNKNOWN_OPERATION',
      message: 'Unknown operation frobnicate',
      details: "No operation has that name; 'help' lists them",
    },
    {
      name: 'an Object.prototype member as operation',
      command: { operation: 'constructor' },
      code: 'UNKNOWN_OPERATION',
      message: 'Unknown operation constructor',
      details: "No operation has that name; 'help' lists them",
    },
    { name: 'start without workflow id', command: { operation: 'start' }, code: 'WORKFLOW_ID_REQUIRED', message: 'Operation start needs a workflow id', details: 'Usage: <workflow-id> start [params]' },
    {
      name: 'create without workflow id',
      command: { operation: 'create', parameters: { name: 'x', phases: ['p'] } },
      code: 'WORKFLOW_ID_REQUIRED',
      message: 'Operation create needs a workflow id',
      details: 'Usage: <workflow-id> create [params]',
    },
    { name: 'a workflow id with a space', command: { operation: 'start', workflow_id: 'wf 1' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('wf 1', 'holds " "') },
    { name: 'a workflow id with a path', command: { operation: 'start', workflow_id: '../etc' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('../etc', 'holds "/"') },
    { name: 'a workflow id starting with "-"', command: { operation: 'get-status', workflow_id: '-wf' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('-wf', 'starts with "-"') },
    { name: 'an empty workflow id', command: { operation: 'get-status', workflow_id: '' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('', 'is empty') },
    { name: 'a 129-character workflow id', command: { operation: 'create', workflow_id: 'w'.repeat(129) }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('w'.repeat(129), 'is 129 characters long') },
    { name: 'a workflow id with ".."', command: { operation: 'create', workflow_id: 'a..b' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('a..b', 'holds ".."') },
    { name: 'a workflow id starting with "."', command: { operation: 'get-status', workflow_id: '.wf' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: ID_RULE('.wf', 'starts with "."') },
    { name: 'an unknown command key', command: { operation: 'start', workflow_id: 'wf_here', extra: 1 }, code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Unrecognized key: "extra"' },
    { name: 'no operation', command: {}, code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Invalid input: expected string, received undefined\n  → at operation' },
    { name: 'an empty operation', command: { operation: '' }, code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Too small: expected string to have >=1 characters\n  → at operation' },
    { name: 'null', command: null, code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Invalid input: expected object, received null' },
    { name: 'a string', command: 'wf_here start', code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Invalid input: expected object, received string' },
    { name: 'a number', command: 42, code: 'VALIDATION_FAILED', message: MALFORMED, details: '✖ Invalid input: expected object, received number' },
    {
      name: 'an unknown workflow',
      command: { operation: 'start', workflow_id: 'ghost' },
      code: 'WORKFLOW_NOT_FOUND',
      message: 'Workflow ghost does not exist',
      details: 'Known workflows: wf_here',
    },
    {
      name: 'an existing workflow id on create',
      command: { operation: 'create', workflow_id: 'wf_here', parameters: { name: 'again', phases: ['p'] } },
      code: 'WORKFLOW_EXISTS',
      message: 'Workflow wf_here already exists',
      details: 'It is created',
    },
  ];

  it.each(rows)('$name -> $code', async ({ command, code, message, details }) => {
    const { error } = await errorOf(command);
    expect(error).toEqual({ code, message, details });
  });

  it('WORKFLOW_NOT_FOUND follows the spec example, with its two recovery suggestions', async () => {
    const fresh = createHub({ maxThreads: 1, clock });
    try {
      const response = await fresh.execute({ operation: 'start', workflow_id: 'wf_9' });
      expect(response).toEqual({
        status: 'error',
        operation: 'start',
        workflow_id: 'wf_9',
        timestamp: '2030-01-02T03:04:05.678Z',
        error: { code: 'WORKFLOW_NOT_FOUND', message: 'Workflow wf_9 does not exist', details: 'No workflow has been created yet' },
        recovery_suggestions: ["List available workflows with 'list-workflows'", "Create new workflow with 'create' operation"],
      });
    } finally {
      await fresh.close({ graceMs: 0 });
    }
  });

  it('bad parameters: VALIDATION_FAILED with z.prettifyError of the operation schema', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['start', { failure_tolerance: 'extreme' }],
      ['pause', { reason: 7 }],
      ['wait', { timeout: 'soon' }],
      ['get-status', { include_output: 'yes' }],
      ['complete', { generate_report: 1 }],
    ];
    for (const [operation, parameters] of cases) {
      const { error } = await errorOf({ operation, workflow_id: 'wf_here', parameters });
      const parsed = OPERATIONS[operation as keyof typeof OPERATIONS].params.safeParse(parameters);
      expect(parsed.success).toBe(false);
      expect(error).toEqual({ code: 'VALIDATION_FAILED', message: `Invalid parameters for ${operation}`, details: z.prettifyError(parsed.error!) });
    }
  });

  it('an unknown key is named with the closest accepted one, or the keys accepted there', async () => {
    const misspelt = await errorOf({ operation: 'configure-batching', parameters: { batch_sise: 10 } });
    expect(misspelt.error.details).toBe('✖ Unrecognized key: "batch_sise"\nUnknown key "batch_sise" in the parameters: did you mean "batch_size"?');
    expect(misspelt.recovery_suggestions).toContain("'help configure-batching' lists its parameters");
    const nested = await errorOf({ operation: 'subscribe-event', parameters: { retry_policy: { max_retires: 2 } } });
    expect(nested.error.details).toContain('Unknown key "max_retires" in retry_policy: did you mean "max_retries"?');
    const far = await errorOf({ operation: 'pause', workflow_id: 'wf_here', parameters: { bogus: 1 } });
    expect(far.error.details).toBe('✖ Unrecognized key: "bogus"\nUnknown key "bogus" in the parameters; accepted there: reason');
    const none = await errorOf({ operation: 'resume', workflow_id: 'wf_here', parameters: { now: true } });
    expect(none.error.details).toBe('✖ Unrecognized key: "now"\nUnknown key "now": this operation takes no parameters');
  });

  it('validation happens before the workflow is looked up: bad parameters on a missing workflow are VALIDATION_FAILED', async () => {
    const { error } = await errorOf({ operation: 'pause', workflow_id: 'ghost', parameters: { nope: 1 } });
    expect(error.code).toBe('VALIDATION_FAILED');
  });

  it('every operation of the contract (DESIGN §3) is there and available', () => {
    const contract = `create start pause resume complete cancel cleanup save-state load-state get-status list-workflows wait
      assign-agents redistribute-tasks monitor-pool publish-event subscribe-event unsubscribe-event get-events configure-batching
      dead-letters redrive checkpoint restore rollback list-checkpoints health metrics request-resources release-resources help logs
      approve reject approvals retry-task skip-task list-templates set-priority hello configure-persistence optimize-subscriptions enable-async-processing`;
    expect([...OPERATION_NAMES].sort()).toEqual(contract.split(/\s+/).sort());
    expect(OPERATION_NAMES.filter((name) => !OPERATIONS[name].available)).toEqual([]);
  });

  it('every error response carries exactly the envelope fields, and a failed command changes nothing', async () => {
    const response = await errorOf({ operation: 'strat', workflow_id: 'wf_here' });
    expect(Object.keys(response).sort()).toEqual(['error', 'operation', 'recovery_suggestions', 'status', 'timestamp', 'workflow_id']);
    expect(response.timestamp).toBe(new Date(clock.now()).toISOString());
    expect(response.recovery_suggestions).toEqual(["List the operations with 'help'"]);
    expect(hub.workflowIds()).toEqual(['wf_here']);
  });
});

describe('properties of the command boundary', () => {
  let n = 0;

  it('any JSON value as create parameters: never throws, answers success or a known error code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (parameters) => {
        const command = { operation: 'create', workflow_id: `prop_${++n}`, parameters };
        const response = await hub.execute(command);
        checkEnvelope(response, command);
        if (response.status === 'success') expect(hub.workflowIds()).toContain(command.workflow_id);
      }),
      { numRuns: 300 },
    );
  });

  it('near-valid definitions: random fields on a valid base answer success or a known error code', async () => {
    const task = fc.record(
      {
        id: fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 4 })),
        handler: fc.constantFrom('noop', 'echo', 'sleep', 'cpu', 'fail', 'exec', 'nope'),
        input: fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 })),
        depends_on: fc.array(fc.constantFrom('a', 'b', 'c', 'zz'), { maxLength: 3 }),
        timeout: fc.oneof(fc.constantFrom('1s', '5 parsecs', '10m'), fc.integer({ min: -5, max: 5_000 })),
        retries: fc.integer({ min: -1, max: 3 }),
      },
      { requiredKeys: ['id', 'handler'] },
    );
    const phase = fc.oneof(fc.string({ maxLength: 3 }), fc.record({ name: fc.constantFrom('p', 'q', ''), tasks: fc.array(task, { maxLength: 4 }) }));
    await fc.assert(
      fc.asyncProperty(fc.record({ name: fc.constantFrom('wf', ''), phases: fc.array(phase, { maxLength: 3 }) }), async (parameters) => {
        const command = { operation: 'create', workflow_id: `near_${++n}`, parameters };
        checkEnvelope(await hub.execute(command), command);
      }),
      { numRuns: 300 },
    );
  });

  it('any command object (every operation but wait): never throws, answers a well-formed response', async () => {
    const operation = fc.oneof(fc.constantFrom(...OPERATION_NAMES.filter((o) => o !== 'wait')), fc.string({ maxLength: 12 }));
    const command = fc.record(
      { operation, workflow_id: fc.oneof(fc.constantFrom('wf_here', 'ghost'), fc.string({ maxLength: 6 })), parameters: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(command, async (c) => {
        // `wait` on an existing workflow would block on the manual clock
        fc.pre(c.operation !== 'wait');
        checkEnvelope(await hub.execute(c), c);
      }),
      { numRuns: 300 },
    );
  });

  it('a random graph in one phase is accepted exactly when it is acyclic, and a reported cycle is a real one', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const graph = fc.array(fc.subarray(ids), { minLength: 5, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(graph, async (deps) => {
        const edges = new Map(ids.map((id, i) => [id, deps[i]!]));
        const tasks = ids.map((id) => ({ id, handler: 'noop', depends_on: edges.get(id)! }));
        const response = await hub.execute({ operation: 'create', workflow_id: `graph_${++n}`, parameters: { name: 'g', phases: [{ name: 'p', tasks }] } });
        expect(response.status === 'success').toBe(isAcyclic(edges));
        if (response.status === 'error') {
          expect(response.error.code).toBe('DEPENDENCY_CYCLE');
          const cycle = response.error.message.replace('Dependency cycle: ', '').split(' -> ');
          expect(cycle[0]).toBe(cycle.at(-1));
          for (let i = 0; i + 1 < cycle.length; i++) expect(edges.get(cycle[i]!)).toContain(cycle[i + 1]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Kahn's algorithm, independent of the code under test. */
function isAcyclic(edges: Map<string, string[]>): boolean {
  const pending = new Map([...edges].map(([id, deps]) => [id, new Set(deps)]));
  let progress = true;
  while (progress) {
    progress = false;
    for (const [id, deps] of pending) {
      if ([...deps].every((d) => !pending.has(d))) {
        pending.delete(id);
        progress = true;
      }
    }
  }
  return pending.size === 0;
}

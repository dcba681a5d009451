/**
 * How deep command parameters may nest (issue "Hardening", item 8): `create`
 * params nested 5 000 levels answered INTERNAL_ERROR (msgpackr overflowed the
 * stack writing the checkpoint), and a deep `request_id` on the control
 * socket broke rendering the answer. Now every way in refuses more than
 * MAX_PARAMS_DEPTH (100) levels with NESTING_TOO_DEEP, before anything that
 * recurses sees them: `hub.execute` for programmatic callers, the socket on
 * the request's text. (The REPL line and `@file` are in cli-params-file.)
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNesting, ControlSocket, MAX_PARAMS_DEPTH, type ErrorResponse, type Hub } from '../src/index.js';
import { jsonNestingExceeds } from '../src/runtime/nesting.js';
import { eachTestOwnHub, ok } from './hub-fixtures.js';
import { useTempDirs } from './helpers/persistence.js';

let hub: Hub;
const replace = eachTestOwnHub((made) => ({ hub } = made));
const tempDir = useTempDirs('troupe-depth-');

/** `{"a":{"a":…{}…}}`: `levels` objects, the outermost included. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** `create` parameters nested exactly `levels` deep: the echo task's input carries the rest (6 levels reach it). */
const createParams = (levels: number) => ({ name: 'deep', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'echo', input: { value: nested(levels - 6) } }] }] });

/** The true depth, by plain recursion (fine for the sizes it is given). */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

const PATH_TO_INPUT = 'parameters.phases[0].tasks[0]…';

describe('hub.execute: parameters nest at most 100 levels', () => {
  it('takes create parameters exactly 100 levels deep, and stores them in a data directory', async () => {
    await replace({ dataDir: await tempDir() });
    expect(depthOf(createParams(MAX_PARAMS_DEPTH))).toBe(100);
    await ok(hub, { operation: 'create', workflow_id: 'at_limit', parameters: createParams(MAX_PARAMS_DEPTH) });
  });

  it.each([
    [101, `Objects and arrays nest more than 100 levels deep in parameters (at ${PATH_TO_INPUT}.a.a.a)`],
    [5_000, `Objects and arrays nest more than 100 levels deep in parameters (at ${PATH_TO_INPUT}.a.a.a)`],
  ])('refuses create parameters %i levels deep with NESTING_TOO_DEEP (a data directory, whose checkpoint overflowed before)', async (levels, message) => {
    await replace({ dataDir: await tempDir() });
    const response = (await hub.execute({ operation: 'create', workflow_id: 'too_deep', parameters: createParams(levels) })) as ErrorResponse;
    expect(response).toMatchObject({
      status: 'error',
      operation: 'create',
      workflow_id: 'too_deep',
      error: {
        code: 'NESTING_TOO_DEEP',
        message,
        details: 'At most 100 levels are accepted (the outermost object or array is level 1): flatten the data, or pass deeply nested data as a JSON string',
      },
    });
    expect(response.recovery_suggestions[0]).toContain('Flatten the parameters');
    // nothing was created, and the hub goes on
    expect((await hub.execute({ operation: 'get-status', workflow_id: 'too_deep' })).status).toBe('error');
    await ok(hub, { operation: 'create', workflow_id: 'next', parameters: createParams(10) });
  });

  it('refuses a million levels, arrays this time, for any operation, without overflowing itself', async () => {
    const text = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const response = (await hub.execute({ operation: 'publish-event', parameters: { event_type: 'X', data: JSON.parse(text) } })) as ErrorResponse;
    expect(response.error).toMatchObject({ code: 'NESTING_TOO_DEEP', message: 'Objects and arrays nest more than 100 levels deep in parameters (at parameters.data[0][0][0]…[0][0][0])' });
  });

  it('refuses parameters that contain themselves (a programmatic caller can build them), naming the cycle', async () => {
    const input: Record<string, unknown> = { list: [] };
    (input.list as unknown[]).push({ back: input });
    const response = (await hub.execute({ operation: 'create', workflow_id: 'loop', parameters: { name: 'c', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'echo', input }] }] } })) as ErrorResponse;
    expect(response.error).toMatchObject({
      code: 'NESTING_TOO_DEEP',
      message: 'Objects and arrays nest without end in parameters: parameters.phases[0].tasks[0].input.list[0].back refers back to an object that contains it (a cycle)',
    });
  });

  it('a value shared twice (not a cycle) is fine', async () => {
    const shared = { v: 1 };
    await ok(hub, { operation: 'create', workflow_id: 'shared', parameters: { name: 's', phases: [{ name: 'p', tasks: [{ id: 'x', handler: 'echo', input: { value: { a: shared, b: [shared] } } }] }] } });
  });
});

describe('the depth checks, as properties', () => {
  // small limits, so that random JSON crosses them often
  it('checkNesting refuses a JSON value exactly when it is deeper than the limit', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 5 }), (value, limit) => {
        const refused = (() => {
          try {
            checkNesting(value, 'parameters', { limit });
            return false;
          } catch (error) {
            expect(error).toMatchObject({ code: 'NESTING_TOO_DEEP' });
            return true;
          }
        })();
        expect(refused).toBe(depthOf(value) > limit);
      }),
      { numRuns: 500 },
    );
  });

  it("the text scan agrees with the value's depth on any JSON text, brackets, quotes and escapes in strings included", () => {
    const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tricky, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(tricky, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 5 }), fc.boolean(), (v, limit, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        expect(jsonNestingExceeds(text, limit) !== -1).toBe(depthOf(v) > limit);
      }),
      { numRuns: 500 },
    );
  });
});

/** Where a text that only opens brackets before its deepest point (and has none in its strings) crosses `limit`: its (limit+1)-th bracket. */
const crossing = (text: string, limit: number) => [...text.matchAll(/[[{]/g)][limit]!.index;

describe('the control socket: requests nest at most 101 levels (the request, then its parameters)', () => {
  /** Sends `lines` on a real connection to the hub's socket; resolves with one response per line. */
  async function exchange(lines: string[]): Promise<Record<string, any>[]> {
    const path = join(await tempDir(), 'troupe.sock');
    const socket = await ControlSocket.listen(hub, path);
    try {
      return await new Promise((resolve, reject) => {
        const client = connect(path);
        let text = '';
        client.on('data', (chunk) => {
          text += chunk.toString();
          const answers = text.split('\n').filter(Boolean);
          if (answers.length >= lines.length) {
            client.end();
            resolve(answers.map((l) => JSON.parse(l) as Record<string, any>));
          }
        });
        client.on('error', reject);
        client.write(lines.map((l) => `${l}\n`).join(''));
      });
    } finally {
      await socket.close();
    }
  }

  it('answers NESTING_TOO_DEEP to deep parameters and to a deep request_id, and goes on with the next line', async () => {
    // written as text: JSON.stringify itself overflows near 4 000 levels
    const deepParams = `{"operation":"create","workflow_id":"w","parameters":{"name":"deep","phases":[{"name":"p","tasks":[{"id":"x","handler":"echo","input":{"value":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}}]}]}}`;
    const deepId = `{"operation":"health","request_id":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const atLimit = JSON.stringify({ operation: 'create', workflow_id: 'ok_100', parameters: createParams(100), request_id: nested(100) });
    const [params, id, fine, after] = await exchange([deepParams, deepId, atLimit, '{"operation":"list-workflows","request_id":7}']);
    const tooDeep = (text: string) => `Objects and arrays nest more than 101 levels deep in the request (at character ${crossing(text, 101) + 1} of ${text.length})`;
    expect(params).toMatchObject({ status: 'error', error: { code: 'NESTING_TOO_DEEP', message: tooDeep(deepParams) } });
    expect(id).toMatchObject({ status: 'error', error: { code: 'NESTING_TOO_DEEP', message: tooDeep(deepId) } });
    expect(fine).toMatchObject({ status: 'success', operation: 'create', workflow_id: 'ok_100' });
    expect(depthOf(fine!.request_id)).toBe(100);
    expect(after).toMatchObject({ status: 'success', request_id: 7 });
  });
});

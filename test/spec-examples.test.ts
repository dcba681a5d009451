/**
 * The spec's own examples are the contract for its commands (DESIGN §3): a
 * user who copies one into the REPL gets it done, or an honest answer — never
 * a refusal of its shape. Every example of spec/ is in
 * fixtures/spec-examples.json, sent here through the REPL's own line parser
 * to a real hub with a data directory.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineToCommand } from '../src/cli/parse-line.js';
import type { HubResponse } from '../src/index.js';
import { closeHub, makeHub, statusOf, taskOf, until } from './hub-fixtures.js';

interface Example {
  source?: string;
  given?: boolean;
  expect: string;
  line?: string;
  request?: Record<string, unknown>;
  once?: { task: string; status: string };
}

const fixture = JSON.parse(await readFile(new URL('./fixtures/spec-examples.json', import.meta.url), 'utf8')) as {
  scenarios: { name: string; examples: Example[] }[];
};

/** Codes that refuse a command for its shape: none of the spec's examples may get one. */
const SHAPE_REFUSALS = new Set(['VALIDATION_FAILED', 'UNKNOWN_OPERATION', 'NOT_IMPLEMENTED', 'PARSE_ERROR']);

const outcome = (response: HubResponse) => (response.status === 'success' ? 'success' : response.error.code);

describe.each(fixture.scenarios)('the spec examples: $name', ({ examples }) => {
  it('each is done as written, or answered honestly with the expected code', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-spec-'));
    const { hub, clock } = makeHub({ dataDir: join(dir, 'data') });
    try {
      const seen: { source: string; outcome: string; detail: string }[] = [];
      for (const example of examples) {
        if (example.once) {
          const { task, status } = example.once;
          await until(async () => taskOf(await statusOf(hub, 'workflow_123'), task).status === status, `${task} ${status}`, 20_000);
        }
        const line = (example.line ?? JSON.stringify(example.request)).replaceAll('{{TMP}}', dir);
        const command = await lineToCommand(line);
        const response = await hub.execute(command!);
        const detail = response.status === 'error' ? `${response.error.message} ${response.error.details}` : '';
        seen.push({ source: example.source ?? 'given', outcome: outcome(response), detail });
      }
      expect(seen.filter((s) => SHAPE_REFUSALS.has(s.outcome))).toEqual([]);
      expect(seen.map((s) => `${s.source} → ${s.outcome}`)).toEqual(examples.map((e) => `${e.source ?? 'given'} → ${e.expect}`));
    } finally {
      await closeHub(hub, clock);
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

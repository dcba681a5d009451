/**
 * The bench suite: `npm run bench [-- SUITE… --quick --json FILE]`. Each
 * suite measures troupe beside its baseline in the same run, over growing
 * sizes, and prints the ratio (DESIGN §8).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { BenchRow, Suite } from './measure.js';
import { actorsSuite } from './suites/actors.js';
import { eventsSuite } from './suites/events.js';
import { tasksSuite } from './suites/tasks.js';
import { durabilitySuite } from './suites/durability.js';
import { recoverySuite } from './suites/recovery.js';

const SUITES: Record<string, Suite> = { events: eventsSuite, actors: actorsSuite, tasks: tasksSuite, durability: durabilitySuite, recovery: recoverySuite };
const PLANNED = ['scale'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const unknown = positionals.filter((name) => !SUITES[name]);
if (unknown.length > 0) {
  const planned = unknown.filter((name) => PLANNED.includes(name));
  console.error(
    `bench: ${unknown.map((n) => `'${n}'`).join(', ')} ${planned.length === unknown.length ? 'not available yet (planned)' : 'unknown'}; suites: ${Object.keys(SUITES).join(', ')}`,
  );
  process.exit(2);
}
const chosen = positionals.length > 0 ? positionals.map((name) => SUITES[name]!) : Object.values(SUITES);
const rows: BenchRow[] = [];
for (const suite of chosen) {
  for (const size of values.quick ? suite.sizes.quick : suite.sizes.full) {
    const result = await suite.run(size);
    rows.push(...result);
    for (const r of result) {
      console.log(
        `${r.suite.padEnd(10)} ${r.scenario.padEnd(28)} ${String(r.size).padStart(6)} ${r.metric.padEnd(12)} ${String(r.value).padStart(10)} ${r.unit.padEnd(9)} ${r.baseline.padEnd(24)} ${String(r.baseline_value).padStart(10)}  ratio ${r.ratio}`,
      );
    }
  }
}
if (values.json) await writeFile(values.json, `${JSON.stringify(rows, null, 2)}\n`);
process.exit(0);

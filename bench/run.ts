/**
 * The bench suite: `npm run bench [-- SUITE… --quick --json FILE]`. Each
 * suite measures troupe beside its baseline in the same run, over growing
 * sizes; every figure is the median of several runs after a warm-up, with
 * their spread, its ratio to the baseline and the issue's target (DESIGN §8).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { quickRuns, type BenchRow, type Suite } from './measure.js';
import { actorsSuite } from './suites/actors.js';
import { durabilitySuite } from './suites/durability.js';
import { eventsSuite } from './suites/events.js';
import { graphsSuite } from './suites/graphs.js';
import { recoverySuite } from './suites/recovery.js';
import { scaleSuite } from './suites/scale.js';
import { tasksSuite } from './suites/tasks.js';
import { table } from './table.js';

const SUITES: Record<string, Suite> = { events: eventsSuite, actors: actorsSuite, tasks: tasksSuite, durability: durabilitySuite, recovery: recoverySuite, scale: scaleSuite, graphs: graphsSuite };

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const unknown = positionals.filter((name) => !SUITES[name]);
if (unknown.length > 0) {
  console.error(`bench: unknown suite ${unknown.map((n) => `'${n}'`).join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
if (values.quick) quickRuns();
const chosen = positionals.length > 0 ? positionals.map((name) => SUITES[name]!) : Object.values(SUITES);
const rows: BenchRow[] = [];
for (const suite of chosen) {
  for (const size of values.quick ? suite.sizes.quick : suite.sizes.full) {
    const result = await suite.run(size, { quick: values.quick });
    rows.push(...result);
    // progress while the rest runs; the table comes at the end
    for (const r of result) console.error(`${r.suite} ${r.scenario} [${r.size}]: ${r.value} ${r.unit} (baseline ${r.baseline_value}, ratio ${r.ratio})`);
  }
}
console.log(`\n${table(rows)}`);
if (values.json) await writeFile(values.json, `${JSON.stringify(rows, null, 2)}\n`);
// worker pools and timers of the suites must not keep the process alive
process.exit(0);

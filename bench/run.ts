/**
 * The bench suite: `npm run bench [-- SUITE… --quick --json FILE]` (`--help`
 * says it all). Each suite measures troupe beside its baseline in the same
 * run, over growing sizes; every figure is the median of several runs after a
 * warm-up, with their spread, its ratio to the baseline and the issue's target
 * (DESIGN §8). The table fits 100 columns; `--json FILE` has every detail.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { quickRuns, type BenchRow, type Suite } from './measure.js';
import { table } from './table.js';

/**
 * The suites, each with what it measures in one line (for --help) and its
 * module, loaded only when it runs: --help and a mistake on the command line
 * answer at once, without loading troupe.
 */
const SUITES: Record<string, { summary: string; load: () => Promise<Suite> }> = {
  events: { summary: 'publish -> delivery, 1-10 000 subscriptions, vs EventEmitter; batched delivery', load: async () => (await import('./suites/events.js')).eventsSuite },
  actors: { summary: 'create -> start -> stop of workflow actors vs bare XState; heap per idle workflow', load: async () => (await import('./suites/actors.js')).actorsSuite },
  tasks: { summary: 'noop tasks end to end (durability none|batch|sync) and exec tasks vs bare Piscina', load: async () => (await import('./suites/tasks.js')).tasksSuite },
  durability: { summary: 'checkpoint writes vs atomic JSON writes; group-commit appends vs fsync per write', load: async () => (await import('./suites/durability.js')).durabilitySuite },
  recovery: { summary: 'a new hub recovering N paused workflows vs reading their checkpoint files', load: async () => (await import('./suites/recovery.js')).recoverySuite },
  scale: { summary: 'tasks/s and heap per task, workflows of 10 to 10 000 tasks, vs a 10-task one', load: async () => (await import('./suites/scale.js')).scaleSuite },
  graphs: { summary: 'create + get-status of 1 000-16 000-task chains, a refused cycle, vs no depends_on', load: async () => (await import('./suites/graphs.js')).graphsSuite },
};

const USAGE = 'usage: npm run bench -- [SUITE…] [--quick] [--json FILE]';

const HELP = `${USAGE}
       node --import tsx bench/run.ts [SUITE…] [--quick] [--json FILE]

Measures troupe beside a baseline measured in the same run, over growing sizes. Every
figure is the median of several runs after a warm-up. Progress goes to stderr; the
table (100 columns) to stdout, with the ratio troupe ÷ baseline and whether the issue's
target is met.

suites (every one when none is named):
${Object.entries(SUITES)
  .map(([name, s]) => `  ${name.padEnd(12)}${s.summary}`)
  .join('\n')}

options:
  --quick       a short run: fewer and smaller sizes, three runs per figure
  --json FILE   also write every row to FILE, with what the table leaves out:
                spread, run count, metric, the target itself and the row's direction
  -h, --help    this help

reading the table: ratio = troupe ÷ baseline. Higher is better for throughput
(a unit per second: events/s, tasks/s), lower is better for time and memory (ms, KB);
the legend under the table says it for the rows shown.

examples:
  npm run bench                                   every suite, full sizes (long)
  npm run bench -- events tasks --quick           two suites, short
  npm run bench -- --quick --json bench.json      every suite, short, rows to bench.json
`;

/** A mistake on the command line: said in one line, with the usage; exit status 2, no stack trace. */
function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n(npm run bench -- --help for more)\n`);
  process.exit(2);
}

const OPTIONS = { quick: { type: 'boolean' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

/**
 * The suites named and the options, checked here rather than by parseArgs's
 * strict mode, whose errors are thrown (with a stack) and whose wording
 * misleads (an unknown option is "a positional argument starting with '-'").
 */
function parseCommandLine(args: string[]): { suites: string[]; quick: boolean; json: string | undefined } {
  const { tokens } = parseArgs({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const suites: string[] = [];
  let quick = false;
  let json: string | undefined;
  for (const t of tokens) {
    if (t.kind === 'positional') suites.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'quick') {
      if (t.value !== undefined) usageError(`${t.rawName} takes no value (got '${t.value}')`);
      quick = true;
    } else if (t.name === 'json') {
      if (t.value === undefined || t.value === '') usageError(`${t.rawName} needs a FILE to write the rows to`);
      // `--json --quick`: a forgotten FILE, not a file named --quick (that one is --json=--quick)
      if (!t.inlineValue && t.value.startsWith('-')) usageError(`${t.rawName} needs a FILE to write the rows to (got '${t.value}'; for a file named so, ${t.rawName}=${t.value})`);
      json = t.value;
    } else usageError(`unknown option '${t.rawName}'`);
  }
  const unknown = suites.filter((name) => !Object.hasOwn(SUITES, name));
  if (unknown.length > 0) usageError(`unknown suite ${unknown.map((n) => `'${n}'`).join(', ')}; suites: ${Object.keys(SUITES).join(', ')}`);
  return { suites, quick, json };
}

const options = parseCommandLine(process.argv.slice(2));
if (options.json) {
  // before minutes of measuring: a FILE that cannot be written is a usage error now, not a stack trace at the end
  await writeFile(options.json, '').catch((error: NodeJS.ErrnoException) => {
    console.error(`bench: cannot write --json ${options.json}: ${error.code ?? error.message}\n${USAGE}`);
    process.exit(2);
  });
}
if (options.quick) quickRuns();
const chosen = options.suites.length > 0 ? options.suites : Object.keys(SUITES);
const rows: BenchRow[] = [];
for (const name of chosen) {
  const suite = await SUITES[name]!.load();
  for (const size of options.quick ? suite.sizes.quick : suite.sizes.full) {
    const result = await suite.run(size, { quick: options.quick });
    rows.push(...result);
    // progress while the rest runs; the table comes at the end
    for (const r of result) console.error(`${r.suite} ${r.scenario} [${r.size}]: ${r.value} ${r.unit} (baseline ${r.baseline_value}, ratio ${r.ratio})`);
  }
}
// colour only on a terminal, and never under NO_COLOR
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
// what the figures were measured with: recovery and the log decode faster with the native extractor
const { msgpackNative } = await import('../src/persistence/checkpoint-codec.js');
console.log(`\nNode ${process.version}, ${cpus().length} cores; msgpackr native acceleration ${msgpackNative() ? 'on' : 'off (pure JavaScript)'}`);
console.log(table(rows, { color }));
if (options.json) await writeFile(options.json, `${JSON.stringify(rows, null, 2)}\n`);
// worker pools and timers of the suites must not keep the process alive
process.exit(0);

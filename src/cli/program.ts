import { Command, InvalidArgumentError, Option } from 'commander';
import { closestName } from '../index.js';
import { cliContext, again, shellWord, type CliContext, type GlobalOptions } from './cli-context.js';
import { runCheck } from './check-command.js';
import { runAttach, runExec } from './client-modes.js';
import { completionScript, SHELLS } from './completion.js';
import { runLogs } from './logs-command.js';
import type { StreamGuard } from './output-guard.js';
import { paramPairs } from './run-source.js';
import { submitRun } from './run-submit.js';
import { answerApproval, changeWorkflow, connectSupervisor, listWorkflows, showStatus, watchFromShell } from './shell-commands.js';
import { onSignals } from './signals.js';
import { runSupervisor } from './supervisor.js';

const WORKFLOW_STATUSES = ['created', 'running', 'paused', 'needs_intervention', 'completed', 'partial', 'failed', 'cancelled', 'compensating', 'compensated', 'compensation_failed', 'archived'];

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  // commander reports this error as a usage error naming the option
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} takes a whole number from 1.`);
  return n;
};

/**
 * The `troupe` command line, on commander: every command with its own
 * `--help`, usage errors that name the command, `help [command]`,
 * `version`, and shell completion generated from this same tree. Each
 * action stores its exit code in `exit.code`.
 */
export function buildProgram(version: string, streams: StreamGuard, exit: { code: number }): Command {
  const program = new Command('troupe');
  // the context is read when a command runs: its global options may come after the command's name
  const context = (command: Command): Promise<CliContext> => cliContext(command.optsWithGlobals<GlobalOptions>(), streams);
  const run = (action: (ctx: CliContext, command: Command) => Promise<number>) =>
    async function (this: Command) {
      exit.code = await action(await context(this), this);
    };

  // set before the commands are added: each command copies them
  program.exitOverride().configureOutput({
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
    outputError: (text, write) => write(`troupe: ${text.replace(/^error: /, '')}`),
  });
  program
    .description('A local workflow coordination hub: run workflows of agents and tasks that survive crashes.')
    .version(`troupe ${version}`, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help (for a command: troupe help COMMAND, or troupe COMMAND --help)')
    .option('--data-dir <dir>', 'data directory (env TROUPE_DATA_DIR; default: data_dir of the config, else ./.troupe)')
    .option('--config <file>', 'configuration, JSON or YAML (default: troupe.config.{json,yaml,yml} here, if present)')
    .option('--json', 'print raw JSON (responses, events)')
    .option('--no-color', 'no ANSI colours (NO_COLOR is respected too)')
    .showHelpAfterError('(troupe help lists the commands; troupe COMMAND --help shows one)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `
Examples:
  troupe                                  supervisor and REPL (type help there)
  troupe run examples/hello.yaml          run a workflow, show its progress; exit 0 when it completes
  troupe serve & troupe run FILE          submit to the running supervisor and follow it
  troupe ls; troupe status ID; troupe watch ID; troupe logs ID -f
  troupe exec 'wf_1 pause' 'wf_1 resume'  send command lines to the running supervisor

Exit codes: 0 success, 1 a failed workflow or command, 2 bad input or usage, 130 Ctrl-C, 141 closed output.`);

  program
    .command('repl', { isDefault: true })
    .summary('the supervisor with an interactive REPL (the default: plain `troupe`)')
    .description('the supervisor with an interactive REPL (the default command); reads command lines from stdin when it is not a terminal')
    // a word that is no command arrives here as an argument: say so, with the closest command
    .allowExcessArguments(true)
    .action(
      run(async (ctx, command) => {
        const word = command.args[0];
        if (word !== undefined) {
          const names = program.commands.map((c) => c.name());
          const near = closestName(word, names);
          command.error(`unknown command '${word}'${near ? ` (did you mean ${near}?)` : ''}`, { exitCode: 2 });
        }
        return runSupervisor(ctx, { kind: 'repl' });
      }),
    );

  program
    .command('serve')
    .summary('the supervisor without a REPL (control socket only)')
    .description('the supervisor without a REPL, on the control socket <data-dir>/troupe.sock; stop with Ctrl-C or SIGTERM')
    .action(run((ctx) => runSupervisor(ctx, { kind: 'serve' })));

  program
    .command('run')
    .summary('run a workflow file or template to its end, showing progress')
    .description('create and start a workflow (from FILE or a template) and show its progress to the end; submits it to the running supervisor when one holds the data directory')
    .argument('[file]', 'workflow definition, YAML or JSON')
    .option('--id <id>', 'workflow id (default: the file name and a time); a known id is followed, not created again')
    .option('--template <name>', 'run a template instead of a file (troupe exec list-templates lists them)')
    .addOption(new Option('--param <key=value>', 'a param of the template or of FILE (repeatable)').argParser((value: string, previous: string[] = []) => [...previous, value]))
    .addHelpText('after', `
Exit codes: 0 completed (or partial), 1 failed or cancelled, 2 bad input, 130 Ctrl-C.
Without --id, a workflow of the same definition still active in the data directory is followed instead of starting a second one.
Ctrl-C with no supervisor running stops the workflow, and prints the command that goes on with it;
with a supervisor running, it only stops following (the workflow goes on there).`)
    .action(
      run(async (ctx, command) => {
        const file = command.args[0];
        const options = command.opts<{ id?: string; template?: string; param?: string[] }>();
        if ((file === undefined) === (options.template === undefined)) command.error(file === undefined ? 'troupe run takes a workflow file or --template NAME' : 'troupe run takes a workflow file or --template NAME, not both', { exitCode: 2 });
        const params = paramPairs(options.param ?? []);
        const source = file === undefined ? { template: options.template! } : { file };
        const submitted = { source, params, ...(options.id === undefined ? {} : { id: options.id }) };
        const supervisor = await connectSupervisor(ctx, 'run');
        if (supervisor) return submitRun(ctx, supervisor, submitted);
        const what = file === undefined ? `--template ${shellWord(options.template!)}` : shellWord(file);
        return runSupervisor(ctx, { kind: 'run', ...submitted, resumeHint: (id) => again(ctx, `run ${what} --id ${id}`) });
      }),
    );

  program
    .command('attach')
    .summary('a REPL on the running supervisor')
    .description('a REPL connected to the running supervisor (several at once); ends when the supervisor does')
    .action(run((ctx) => runAttach(ctx.dataDir, { json: ctx.json, palette: ctx.palette, outputClosed: ctx.streams.outputClosed })));

  program
    .command('exec')
    .summary('send command lines to the running supervisor (JSON out)')
    .description('send command lines to the running supervisor, one JSON response per line; exit 0 only when every response is a success')
    .argument('<line...>', "REPL command lines, each quoted, e.g. 'wf_1 get-status'")
    .action(run((ctx, command) => runExec(ctx.dataDir, command.args, ctx.streams.outputClosed)));

  program
    .command('ls')
    .summary('list the workflows')
    .description('the workflows of the data directory, from the running supervisor or, when none runs, from the directory itself')
    .addOption(new Option('--status <status>', 'only workflows in this status').choices(WORKFLOW_STATUSES))
    .action(run((ctx, command) => listWorkflows(ctx, command.opts<{ status?: string }>().status)));

  program
    .command('status')
    .summary("a workflow's phases and tasks")
    .description("a workflow's phases and tasks, from the running supervisor or the data directory")
    .argument('<workflow>', 'workflow id (troupe ls lists them)')
    .action(run((ctx, command) => showStatus(ctx, command.args[0]!)));

  program
    .command('watch')
    .summary("a workflow's phases and tasks, live")
    .description("a workflow's phases and tasks, redrawn live until it ends (exit 0 when it completes) or Ctrl-C")
    .argument('<workflow>', 'workflow id')
    .action(run((ctx, command) => watchFromShell(ctx, command.args[0]!)));

  program
    .command('logs')
    .summary("what a workflow's tasks printed (-f follows)")
    .description('what the tasks of a workflow printed (per attempt), through the running supervisor or from the data directory')
    .argument('<workflow>', 'workflow id')
    .argument('[task]', 'one task (default: every task that wrote a log)')
    .option('-f, --follow', 'follow new output until the task (or the workflow) ends')
    .option('--attempt <n>', 'that attempt of the task (default: the newest)', positiveInt('--attempt'))
    .option('--tail <n>', 'lines from the end (default 100)', positiveInt('--tail'), 100)
    .action(
      run(async (ctx, command) => {
        const [workflowId, taskId] = command.args as [string, string | undefined];
        const options = command.opts<{ follow?: boolean; attempt?: number; tail: number }>();
        const stop = new AbortController();
        const offSignals = onSignals(() => stop.abort());
        try {
          return await runLogs(ctx.dataDir, { workflowId, ...(taskId === undefined ? {} : { taskId }), ...(options.attempt === undefined ? {} : { attempt: options.attempt }), tail: options.tail, follow: options.follow === true, palette: ctx.palette, out: process.stdout, signal: stop.signal });
        } finally {
          offSignals();
        }
      }),
    );

  const lifecycle = { pause: 'pause a running workflow (its running tasks finish; nothing new starts)', resume: 'resume a paused workflow', cancel: 'cancel a workflow (running tasks are stopped)' } as const;
  for (const [operation, summary] of Object.entries(lifecycle) as [keyof typeof lifecycle, string][]) {
    const command = program
      .command(operation)
      .summary(summary.split(' (')[0]!)
      .description(`${summary}, through the running supervisor`)
      .argument('<workflow>', 'workflow id');
    if (operation !== 'resume') command.option('--reason <text>', 'why: kept in its state and its event');
    command.action(run((ctx, c) => changeWorkflow(ctx, operation, c.args[0]!, c.opts<{ reason?: string }>().reason)));
  }

  for (const approved of [true, false]) {
    const verb = approved ? 'approve' : 'reject';
    program
      .command(verb)
      .summary(`${verb} a task that waits for a person`)
      .description(`${approved ? 'approve' : 'reject'} a task that waits for a person (troupe exec approvals lists them), through the running supervisor`)
      .argument('<workflow>', 'workflow id')
      .argument('<task>', 'the approval task id')
      .option('--by <name>', 'who answers (default: your login name)')
      .option(approved ? '--comment <text>' : '--reason <text>', approved ? 'a comment kept with the answer' : 'why, kept with the answer')
      .action(
        run((ctx, command) => {
          const [workflowId, taskId] = command.args as [string, string];
          return answerApproval(ctx, approved, workflowId, taskId, command.opts());
        }),
      );
  }

  program
    .command('check')
    .summary('check every checkpoint and the log, run nothing')
    .description('restore every stored checkpoint against this version and read the log, running nothing; exit 0 when every workflow can recover and the log is whole')
    .action(run((ctx) => runCheck(ctx.dataDir, ctx.json, ctx.palette)));

  program
    .command('completion')
    .summary('print a bash or zsh completion script')
    .description('print a shell completion script: eval "$(troupe completion bash)", or add it to ~/.bashrc / ~/.zshrc')
    .addArgument(new Command().createArgument('<shell>', 'the shell').choices(SHELLS))
    .action(function (this: Command) {
      process.stdout.write(completionScript(program, this.args[0] as (typeof SHELLS)[number]));
      exit.code = 0;
    });

  program
    .command('version')
    .summary('print the version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`troupe ${version}\n`);
      exit.code = 0;
    });

  return program;
}

import { colorStatus, type Palette } from './format-style.js';
import { ago, bytes, cell, done, fields, listed, on, plural, table, type ResultFormatter, type View } from './format-kit.js';

interface FilesSince { recorded: number; unchanged: number; changed: string[]; missing: string[] }

/** How the files a checkpoint recorded compare with the disk: `3 recorded, 1 changed`. */
const filesText = (f: FilesSince) =>
  [`${f.recorded} recorded`, f.changed.length > 0 ? `${f.changed.length} changed (${listed(f.changed, 3)})` : '', f.missing.length > 0 ? `${f.missing.length} missing (${listed(f.missing, 3)})` : '']
    .filter(Boolean)
    .join(', ');

interface Checkpoint {
  checkpoint_id: string;
  seq: number;
  trigger: string;
  name: string | null;
  created_at: string | null;
  epoch: number | null;
  size_bytes: number;
  compression: string | null;
  files?: FilesSince;
  valid: boolean;
  error?: string;
}

function checkpoints(p: Palette, now: string, r: { workflow_id: string; checkpoints: Checkpoint[] }): string {
  if (r.checkpoints.length === 0) return p.dim(`${r.workflow_id} has no checkpoints yet`);
  const verdict = (c: Checkpoint) => (c.valid ? p.green('✓ ok') : p.red(`✗ ${c.error ?? 'unreadable'}`));
  // files only when a checkpoint recorded some (checkpoint_files, include_files)
  const files = r.checkpoints.some((c) => c.files);
  const rows = r.checkpoints.map((c) => [
    c.checkpoint_id, String(c.seq), c.trigger, cell(c.name), ago(c.created_at, now), cell(c.epoch),
    `${bytes(c.size_bytes)}${c.compression && c.compression !== 'none' ? ` ${c.compression}` : ''}`, ...(files ? [c.files ? filesText(c.files) : '-'] : []), verdict(c),
  ]);
  const columns = [
    { header: 'checkpoint', keep: true }, { header: 'seq', right: true }, 'trigger', 'name', { header: 'created', keep: true }, { header: 'epoch', right: true },
    { header: 'size', right: true }, ...(files ? ['files'] : []), 'integrity',
  ];
  return `${table(p, columns, rows)}\n${p.dim(`${plural(r.checkpoints.length, 'checkpoint')} of ${r.workflow_id}, oldest first; restore or load-state takes an id, a seq or a name`)}`;
}

interface Checkpointed { checkpoint_id: string; name: string | null; size_bytes: number; compression: string; integrity_check: string; validated: boolean; files?: unknown[] }

interface Restored {
  restored_from: string;
  strategy: string;
  epoch: number;
  status: string;
  replayed_outcomes: number;
  completed_tasks_to_run_again: string[];
  new_checkpoint: string;
  files?: FilesSince;
  dependency_validation?: string;
  dependencies?: { tasks_checked: number; reasons: string[] };
  integrity?: { scratch_restore: string; status_in_checkpoint?: string };
  restored_agents?: { added: string[] }[];
}

/** restore, rollback and load-state from a checkpoint: where it went back to, and what runs again. */
function restored(v: View, r: Restored): string {
  const { p } = v;
  const deps = r.dependencies;
  return [
    done(v, `back to ${r.restored_from} (${r.strategy.replace(/_/g, ' ')}) → ${colorStatus(p, r.status)}`),
    fields(p, [
      ['run again', r.completed_tasks_to_run_again.length > 0 ? `${listed(r.completed_tasks_to_run_again)} (completed after the checkpoint; their files are not undone)` : 'nothing completed after it'],
      ['replayed', r.replayed_outcomes > 0 ? `${plural(r.replayed_outcomes, 'outcome')} from the log` : null],
      ['files', r.files ? filesText(r.files) : null],
      ['dependencies', r.dependency_validation ? `${r.dependency_validation}${deps ? `, ${plural(deps.tasks_checked, 'task')} checked${deps.reasons.length > 0 ? `: ${deps.reasons.join('; ')}` : ''}` : ''}` : null],
      ['agents', r.restored_agents ? `${r.restored_agents.reduce((n, a) => n + a.added.length, 0)} added back` : null],
      ['now', `epoch ${r.epoch}, new checkpoint ${r.new_checkpoint}`],
    ]),
  ].join('\n');
}

interface Loaded { workflow_id: string; status: string; status_in_bundle: string; paused_on_load: boolean; origin: string; checkpoints: number; events: number; epoch: number; tasks_to_run: { phase: string; task_id: string; handler: string }[]; more_tasks_to_run?: number; restored_agents?: { added: string[] }[] }

function loaded(v: View, r: Loaded | Restored): string {
  if ('restored_from' in r) return restored(v, r);
  const { p } = v;
  const toRun = r.tasks_to_run.map((t) => `${t.phase}/${t.task_id}`);
  return [
    done(v, `${r.workflow_id} from ${r.origin} → ${colorStatus(p, r.status)}${r.paused_on_load ? p.yellow(` (it was ${r.status_in_bundle}: paused on load)`) : ''}`),
    fields(p, [
      ['holds', `${plural(r.checkpoints, 'checkpoint')}, ${plural(r.events, 'event')}; epoch ${r.epoch}`],
      ['to run', toRun.length > 0 ? `${toRun.join(', ')}${r.more_tasks_to_run ? `, … ${r.more_tasks_to_run} more` : ''}` : null],
      ['agents', r.restored_agents ? `${r.restored_agents.reduce((n, a) => n + a.added.length, 0)} added back` : null],
    ]),
  ].join('\n');
}

interface Saved { path: string; size_bytes: number; compressed: boolean; signed: boolean; checkpoints: number; events: number }

export const recoveryFormatters: Record<string, ResultFormatter> = {
  checkpoint: on((v, r: Checkpointed) =>
    done(
      v,
      `${r.checkpoint_id}${r.name ? ` "${r.name}"` : ''}  ${bytes(r.size_bytes)}${r.compression !== 'none' ? ` ${r.compression}` : ''}, integrity ${r.integrity_check}${r.validated ? ', restores' : ''}${r.files ? `, ${plural(r.files.length, 'file')} recorded` : ''}`,
    ),
  ),
  'list-checkpoints': on((v, r: { workflow_id: string; checkpoints: Checkpoint[] }) => checkpoints(v.p, v.response.timestamp, r)),
  restore: on(restored),
  rollback: on(restored),
  'save-state': on((v, r: Saved) =>
    done(v, `${r.path}\n  ${bytes(r.size_bytes)}${r.compressed ? ' compressed' : ''}${r.signed ? ', signed' : ''}: ${plural(r.checkpoints, 'checkpoint')}, ${plural(r.events, 'event')}`),
  ),
  'load-state': on(loaded),
};

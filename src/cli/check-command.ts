import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { checkDataDir } from '../index.js';
import type { Palette } from './format.js';

/** Why `dataDir` cannot be checked (it does not exist, is no directory, cannot be read), or null when it can. Creates nothing. */
export async function unusableDataDir(dataDir: string): Promise<string | null> {
  try {
    const info = await stat(dataDir);
    if (!info.isDirectory()) return `the data directory ${dataDir} is not a directory: nothing to check (give --data-dir the directory a supervisor uses)`;
    await access(dataDir, constants.R_OK | constants.X_OK);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `the data directory ${dataDir} does not exist: nothing to check (give --data-dir the directory a supervisor uses; check creates none)`;
    if (code === 'ENOTDIR') return `the data directory ${dataDir} does not exist (part of its path is a file): nothing to check`;
    if (code === 'EACCES' || code === 'EPERM') return `the data directory ${dataDir} cannot be read (${code}): run check as the user the supervisor runs as`;
    return `the data directory ${dataDir} cannot be checked: ${(error as Error).message}`;
  }
}

/**
 * `troupe check`: one verdict per stored checkpoint, then what the log
 * holds; exit 1 when a start would lose something, 2 when there is no data
 * directory to check (missing, not a directory, unreadable: said on
 * standard error, and nothing is created).
 */
export async function runCheck(dataDir: string, json: boolean, p: Palette): Promise<number> {
  const unusable = await unusableDataDir(dataDir);
  if (unusable !== null) {
    process.stderr.write(`troupe: ${unusable}\n`);
    return 2;
  }
  let report: Awaited<ReturnType<typeof checkDataDir>>;
  try {
    report = await checkDataDir(dataDir);
  } catch (error) {
    // a file inside that cannot be read: said as such, not as a crash
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw error;
    process.stderr.write(`troupe: cannot check the data directory ${dataDir}: ${(error as Error).message}\n`);
    return 2;
  }
  const { verdicts, workflowsAtRisk, outcomesAtRisk, log, ok } = report;
  if (json) {
    for (const v of verdicts) process.stdout.write(`${JSON.stringify(v)}\n`);
    process.stdout.write(`${JSON.stringify({ log })}\n`);
    process.stdout.write(`${JSON.stringify({ ok, workflows_at_risk: workflowsAtRisk, outcomes_at_risk: outcomesAtRisk })}\n`);
    return ok ? 0 : 1;
  }
  const marks = { ok: p.green('✓ ok          '), incompatible: p.yellow('! incompatible'), corrupt: p.red('✗ corrupt     '), missing: p.red('✗ missing     ') };
  for (const v of verdicts) {
    process.stdout.write(`${marks[v.verdict]} ${v.workflow_id}${v.checkpoint_id ? ` ${v.checkpoint_id}` : ''}${v.status ? p.dim(` (${v.status})`) : ''}${v.message ? `  ${v.message}` : ''}\n`);
  }
  process.stdout.write(`log: ${log.segments} segment(s), ${log.records} record(s), last seq ${log.last_seq}\n`);
  for (const d of log.damage) {
    const where = `${d.segment} at byte ${d.offset}: ${d.droppedBytes} byte(s), ${d.reason}`;
    if (d.action === 'truncated') process.stdout.write(`${p.yellow('! torn tail   ')} ${where}, after seq ${d.afterSeq}; a start cuts it off (a write no one was told had finished)\n`);
    else process.stdout.write(`${p.red('✗ damaged     ')} ${where}, ${d.beforeSeq === null ? `after seq ${d.afterSeq}` : `between seq ${d.afterSeq} and seq ${d.beforeSeq}`}; a start cuts it out, keeps its bytes in events/damaged/ and keeps every frame after it\n`);
  }
  if (log.missing) {
    const { log_last_seq: last, claimed_seq: claimed, claimed_by: by } = log.missing;
    process.stdout.write(`${p.red('✗ log short   ')} the log ends at seq ${last}, but checkpoints count records up to seq ${claimed} (${by.map((c) => `${c.workflow_id} ${c.checkpoint}`).join(', ')}): seqs ${last + 1}..${claimed} and anything logged after them are gone\n`);
  }
  if (log.saved.length > 0) process.stdout.write(p.dim(`note: events/damaged/ holds ${log.saved.length} damaged region(s) an earlier start cut out of the log\n`));
  if (outcomesAtRisk.length > 0) process.stdout.write(p.red(`workflows that may run again tasks that completed after their checkpoint: ${outcomesAtRisk.join(', ')}\n`));
  if (workflowsAtRisk.length > 0) process.stdout.write(p.red(`workflows that would not recover: ${workflowsAtRisk.join(', ')}\n`));
  const whole = log.damage.length === 0 ? 'the log reads whole' : 'the log reads whole up to a torn tail the next start cuts off';
  if (ok) process.stdout.write(p.green(`${verdicts.length} checkpoint(s) checked; every workflow can recover; ${whole}\n`));
  else if (workflowsAtRisk.length === 0 && outcomesAtRisk.length === 0) process.stdout.write(p.red('the log is damaged or short: see above\n'));
  return ok ? 0 : 1;
}


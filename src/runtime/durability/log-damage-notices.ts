import type { LogDamage } from '../../persistence/append-log.js';
import type { LogMissing } from './log-claims.js';

const ACTIONS: Record<LogDamage['action'], string> = {
  truncated: 'a torn tail: truncated to the last good frame',
  removed: 'cut out of its segment (its bytes kept in saved_to); the frames after it are kept',
  skipped: 'left in place (the segment could not be rewritten) and read past at every open; the frames after it are kept',
};

/** One ERROR_ENCOUNTERED a start publishes about the log. */
export interface LogNotice {
  /** `warning` for a torn tail (only writes never acknowledged are lost), `error` when acknowledged records may be */
  severity: 'warning' | 'error';
  data: Record<string, unknown>;
}

/**
 * The ERROR_ENCOUNTERED events a start publishes for what it found wrong
 * with the log: one per damaged stretch (what was lost, between which seqs,
 * what was done) and one when checkpoints count on records the log does not
 * hold.
 *
 * @example
 * for (const { severity, data } of logDamageNotices(damage, missing)) bus.publish({ type: 'ERROR_ENCOUNTERED', severity, data });
 */
export function logDamageNotices(damage: readonly LogDamage[], missing: LogMissing | null): LogNotice[] {
  const notices: LogNotice[] = damage.map((d) => ({
    severity: d.action === 'truncated' ? 'warning' : 'error',
    data: {
      component: 'log',
      segment: d.segment,
      offset: d.offset,
      dropped_bytes: d.droppedBytes,
      reason: d.reason,
      after_seq: d.afterSeq,
      before_seq: d.beforeSeq,
      saved_to: d.savedTo,
      action: ACTIONS[d.action],
    },
  }));
  if (missing) {
    notices.push({
      severity: 'error',
      data: {
        component: 'log',
        reason: 'the log is missing records the checkpoints count on (deleted or cut short)',
        log_last_seq: missing.log_last_seq,
        claimed_seq: missing.claimed_seq,
        claimed_by: missing.claimed_by,
        action: `seqs ${missing.log_last_seq + 1}..${missing.claimed_seq} and anything logged after them are gone: tasks that completed after their workflow's checkpoint run again; new records are numbered from ${missing.claimed_seq + 1}`,
      },
    });
  }
  return notices;
}

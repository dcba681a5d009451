import { withSystemReport } from '../protocol/error-report.js';
import { formatDuration } from '../durations.js';
import type { HubState } from '../hub-state.js';
import type { Journal } from './journal.js';
import { STORAGE_PROBE_MS, type StorageReport } from './storage-health.js';

const COMPONENTS = { log: 'log', checkpoints: 'store' } as const;

/**
 * Turns what the data directory's {@link StorageHealth} reports into events,
 * and resumes the hub when writes succeed again: `SYSTEM_ERROR`
 * (`storage_unwritable`, critical) when the log or the checkpoints cannot be
 * written (a full or failing disk; the scheduler then dispatches nothing new),
 * `SYSTEM_MAINTENANCE` (`storage recovered`) when they can again, after which
 * every workflow is pumped so its waiting tasks go out; and `SYSTEM_ERROR`
 * (`log_record_refused`) for a record the log could not frame. Returns the
 * function that stops watching.
 *
 * @example
 * const stop = watchStorage(state, journal);
 */
export function watchStorage(state: HubState, journal: Journal): () => void {
  const tell = (report: StorageReport) => {
    if (report.type === 'unwritable') {
      state.bus.publish({
        type: 'SYSTEM_ERROR',
        severity: 'critical',
        source: 'storage',
        data: withSystemReport(
          {
            error_type: 'storage_unwritable',
            affected_components: [...new Set(report.troubles.map((t) => COMPONENTS[t.part]))],
            severity: 'critical',
            codes: report.troubles.map((t) => t.code),
            message: journal.storage.describe(),
            data_dir: journal.dataDir,
          },
          undefined,
          state.clock.now(),
          'storage_write',
          [{ strategy: 'free_storage', description: `Free space in ${journal.dataDir} (or fix the disk): troupe probes it and resumes dispatching by itself`, command: 'health' }],
        ),
      });
    } else if (report.type === 'writable') {
      state.bus.publish({
        type: 'SYSTEM_MAINTENANCE',
        source: 'storage',
        data: {
          operation_type: 'storage recovered',
          estimated_duration: formatDuration(0),
          impact: `The data directory takes writes again after ${formatDuration(report.unwritableMs)}: dispatching resumes`,
        },
      });
      for (const entry of state.workflows.values()) state.scheduler.pump(entry);
    } else {
      state.bus.publish({
        type: 'SYSTEM_ERROR',
        source: 'log',
        data: withSystemReport({ error_type: 'log_record_refused', affected_components: ['log'], severity: 'error', code: report.code, message: report.message }, undefined, state.clock.now(), 'log_append'),
      });
    }
  };
  // what went wrong while the data directory was being opened, before anyone listened
  if (journal.storage.degraded) tell({ type: 'unwritable', troubles: journal.storage.troubles });
  return journal.storage.onReport(tell);
}

/** `health`'s view of the data directory's writability. */
export function storageView(journal: Journal | null): { writable: boolean; dispatching: 'running' | 'paused'; troubles: unknown[]; probe_every: string; message?: string } | null {
  if (!journal) return null;
  const { storage } = journal;
  return {
    writable: !storage.degraded,
    dispatching: storage.degraded ? 'paused' : 'running',
    troubles: storage.troubles.map((t) => ({ part: t.part, code: t.code, message: t.message, since: new Date(t.since).toISOString() })),
    probe_every: formatDuration(STORAGE_PROBE_MS),
    ...(storage.degraded ? { message: storage.describe() } : {}),
  };
}

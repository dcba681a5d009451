import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { decodeBundle, encodeBundle, BUNDLE_FORMAT_VERSION, type StateBundle } from '../../persistence/bundle-codec.js';
import { writeFileAtomic } from '../../persistence/atomic-file.js';
import { mkdirPrivate } from '../../persistence/private-files.js';
import { TroupeError } from '../errors.js';
import type { EventRecord } from '../events/event-record.js';
import { entryOf, journalOf, type Handler } from '../operation-kit.js';
import { recoverWorkflow } from './recovery.js';
import { ENDED_STATUSES, statusOf } from '../scheduling/workflow-entry.js';

/**
 * `save-state` and `load-state`: a workflow as one self-contained file (its
 * checkpoints and its events, sha256-sealed, gzipped by default), to move it
 * to another data directory or keep it.
 */
export const bundleHandlers: Record<string, Handler> = {
  async 'save-state'(hub, id, params: { path?: string; compress: boolean; include_checkpoints: boolean }) {
    const entry = entryOf(hub, id);
    const journal = journalOf(hub, 'save-state');
    // the state now is the newest checkpoint of the bundle
    await journal.checkpoint(entry, 'export');
    const infos = await journal.checkpoints.list(entry.id);
    const chosen = params.include_checkpoints ? infos : infos.slice(-1);
    const checkpoints: StateBundle['checkpoints'] = [];
    for (const info of chosen) {
      try {
        const { header, body } = await journal.checkpoints.read(info);
        checkpoints.push({ header, body });
      } catch {
        // a corrupt old checkpoint is left out; the newest was just written and verified above
      }
    }
    const events = hub.bus.recent(entry.id);
    const bundle: StateBundle = { format_version: BUNDLE_FORMAT_VERSION, workflow_id: entry.id, exported_at: hub.clock.now(), checkpoints, events };
    const bytes = encodeBundle(bundle, params.compress);
    const path = resolve(params.path ?? join(journal.dataDir, 'exports', `${entry.id}-${new Date(hub.clock.now()).toISOString().replace(/[:.]/g, '-')}.troupe`));
    await mkdirPrivate(dirname(path));
    await writeFileAtomic(path, bytes);
    return {
      result: { workflow_id: entry.id, path, size_bytes: bytes.length, compressed: params.compress, checkpoints: checkpoints.length, events: events.length },
      next_steps: [`Import it elsewhere with 'load-state {"path":"${path}"}'`],
    };
  },

  async 'load-state'(hub, _id, params: { path: string; overwrite: boolean }) {
    const journal = journalOf(hub, 'load-state');
    const path = resolve(params.path);
    let bundle: StateBundle;
    try {
      bundle = decodeBundle(await readFile(path));
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new TroupeError(missing ? 'FILE_NOT_FOUND' : 'CHECKPOINT_CORRUPT', missing ? `No state bundle at ${path}` : `The state bundle ${path} failed its integrity check`, {
        details: error instanceof Error ? error.message : String(error),
      });
    }
    const id = bundle.workflow_id;
    const existing = hub.workflows.get(id);
    const stored = (await journal.checkpoints.list(id)).length > 0;
    if ((existing || stored) && !params.overwrite) {
      throw new TroupeError('WORKFLOW_EXISTS', `Workflow ${id} already exists here; loading the bundle would overwrite it`, {
        details: "Pass {\"overwrite\":true} to replace it, or load the bundle into another data directory",
      });
    }
    if (existing && !ENDED_STATUSES.has(statusOf(existing.actor.getSnapshot())) && statusOf(existing.actor.getSnapshot()) !== 'created') {
      throw new TroupeError('INVALID_TRANSITION', `Workflow ${id} is ${statusOf(existing.actor.getSnapshot())}; it cannot be overwritten while it runs`, {
        details: 'Pause or cancel it first',
      });
    }
    if (bundle.checkpoints.length === 0) throw new TroupeError('CHECKPOINT_NOT_FOUND', `The bundle ${path} holds no checkpoint of ${id}`);
    if (existing) {
      hub.scheduler.detach(existing);
      existing.actor.stop();
      hub.workflows.delete(id);
    }
    await journal.checkpoints.remove(id);
    for (const { header, body } of bundle.checkpoints) {
      const { format_version: _v, body_sha256: _h, ...rest } = header;
      await journal.checkpoints.write(rest, body);
    }
    // outcomes in this log belong to other timelines: a new epoch, and replay starts after now
    const { entry } = await recoverWorkflow(journal.checkpoints, [], id, hub.clock.now(), hub.trace?.forWorkflow(id));
    entry.epoch += 1;
    entry.appliedSeq = journal.log.nextSeq - 1;
    hub.workflows.set(id, entry);
    for (const event of bundle.events as EventRecord[]) hub.bus.publish({ ...toDraft(event) });
    await journal.checkpoint(entry, 'import');
    hub.scheduler.pump(entry);
    return {
      result: { workflow_id: id, status: statusOf(entry.actor.getSnapshot()), checkpoints: bundle.checkpoints.length, events: bundle.events.length, epoch: entry.epoch },
      next_steps: [`See it with '${id} get-status'`],
    };
  },
};

/** An imported event, published again (it gets a new seq here; its time and ids stay in its data). */
function toDraft(event: EventRecord) {
  return {
    type: event.event_type,
    workflowId: event.workflow_id,
    phase: event.phase,
    severity: event.severity,
    source: event.source,
    data: { ...event.data, imported: { event_id: event.event_id, seq: event.seq, timestamp: event.timestamp } },
    correlationId: event.correlation_id,
    causationId: event.causation_id,
    tags: [...event.tags, 'imported'],
  };
}


import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BUNDLE_FORMAT_VERSION, CorruptBundleError, encodeBundle, MAX_BUNDLE_BYTES, readBundle, type BundleSignature, type StateBundle } from '../../persistence/bundle-codec.js';
import { bundleKey, readBundleKey } from '../../persistence/bundle-key.js';
import { writeFileAtomic } from '../../persistence/atomic-file.js';
import { dataDirLayout } from '../../persistence/data-dir.js';
import { idPath, isSafeId } from '../../persistence/safe-id.js';
import { mkdirPrivate } from '../../persistence/private-files.js';
import { TroupeError } from '../errors.js';
import type { EventRecord } from '../events/event-record.js';
import type { HubState } from '../hub-state.js';
import { entryOf, journalOf, type Handler } from '../operation-kit.js';
import { prepareImport } from './bundle-import.js';
import { checkLoadForm, INTEGRITY_ALWAYS, loadFromCheckpoint, restoreAgents, type LoadStateParams } from './checkpoint-load.js';
import { releaseInFlight } from './recovery.js';
import { ENDED_STATUSES, newEntry, statusOf, type PhaseRef, type WorkflowEntry, type WorkflowStatus } from '../scheduling/workflow-entry.js';

/**
 * `save-state` and `load-state`: a workflow as one self-contained file (its
 * checkpoints and its events, sha256-sealed, signed with the data
 * directory's key, gzipped by default), to move it to another data directory
 * or keep it. A bundle is untrusted input: load-state checks all of it
 * before it changes anything, and stores what it loads so that nothing runs
 * before an explicit `start` or `resume` (see `prepareImport`).
 */
export const bundleHandlers: Record<string, Handler> = {
  async 'save-state'(hub, id, params: { path?: string; backup_location?: string; compress?: boolean; include_checkpoints: boolean }) {
    const entry = entryOf(hub, id);
    const journal = journalOf(hub, 'save-state');
    const compress = params.compress ?? journal.stateCompression;
    if (params.path !== undefined && params.backup_location !== undefined) {
      throw new TroupeError('VALIDATION_FAILED', 'save-state takes "path" (the exact file) or "backup_location" (a directory for the file under its default name), not both', {
        details: `path: ${params.path}; backup_location: ${params.backup_location}`,
      });
    }
    // before the export checkpoint: a directory that cannot take the bundle changes nothing
    const directory = params.backup_location === undefined ? join(journal.dataDir, 'exports') : await backupDirectory(resolve(params.backup_location));
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
    const bytes = encodeBundle(bundle, compress, await bundleKey(dataDirLayout(journal.dataDir).bundleKey));
    const stamp = new Date(hub.clock.now()).toISOString().replace(/[:.]/g, '-');
    const path = resolve(params.path ?? idPath(directory, 'workflow id', entry.id, `-${stamp}.troupe`));
    await mkdirPrivate(dirname(path));
    try {
      await writeFileAtomic(path, bytes);
    } catch (error) {
      if (params.backup_location === undefined) throw error;
      throw new TroupeError('BACKUP_LOCATION_INVALID', `The bundle could not be written into the backup location ${directory}`, { details: error instanceof Error ? error.message : String(error) });
    }
    return {
      result: {
        workflow_id: entry.id,
        path,
        ...(params.backup_location === undefined ? {} : { backup_location: directory }),
        size_bytes: bytes.length,
        compressed: compress,
        signed: true,
        checkpoints: checkpoints.length,
        events: events.length,
      },
      next_steps: [`Import it elsewhere with 'load-state {"path":"${path}"}'`],
      metrics: { resources_used: `${checkpoints.length} checkpoint(s) and ${events.length} event(s) in one ${bytes.length}-byte bundle write` },
    };
  },

  async 'load-state'(hub, workflowId, params: LoadStateParams, raw) {
    checkLoadForm(workflowId, params);
    if (params.path === undefined) return loadFromCheckpoint(hub, workflowId!, params, raw);
    const journal = journalOf(hub, 'load-state');
    const path = resolve(params.path);
    const { bundle, signature } = await readBundleFile(path, await readBundleKey(dataDirLayout(journal.dataDir).bundleKey));
    if (workflowId !== undefined && bundle.workflow_id !== workflowId) {
      throw new TroupeError('VALIDATION_FAILED', `The bundle ${path} holds workflow ${JSON.stringify(bundle.workflow_id)}, not ${workflowId}`, {
        details: 'A bundle loads under the id it was saved with: leave the workflow id out, or name the one it holds',
      });
    }
    // the whole bundle is checked in memory first: nothing on disk changes for a bundle that is refused
    const existing = hub.workflows.get(bundle.workflow_id);
    const prepared = prepareImport(bundle, path, {
      now: hub.clock.now(),
      // above any epoch of a workflow it may replace: idempotency keys of the two never meet
      floorEpoch: existing?.epoch ?? (await storedEpoch(hub, bundle.workflow_id)),
      appliedSeq: journal.log.nextSeq - 1,
      handlers: hub.handlers,
      ...(hub.trace ? { inspect: hub.trace.forWorkflow(bundle.workflow_id) } : {}),
    });
    const { id } = prepared;
    try {
      await refuseToReplace(hub, id, existing, params.overwrite);
    } catch (error) {
      prepared.actor.stop();
      throw error;
    }
    if (existing) {
      hub.scheduler.detach(existing);
      existing.actor.stop();
      hub.workflows.delete(id);
    }
    // the index record goes first and comes back last (with the import checkpoint): a crash in
    // between leaves checkpoints that no recovery loads, never half an import that runs
    await journal.index.remove(id);
    await journal.checkpoints.remove(id);
    for (const { header, body } of prepared.checkpoints) await journal.checkpoints.write(header, body);
    const entry = newEntry(id, prepared.actor, { epoch: prepared.epoch, appliedSeq: journal.log.nextSeq - 1, checkpointSeq: prepared.newestSeq });
    releaseInFlight(entry, hub.clock.now());
    hub.workflows.set(id, entry);
    for (const event of prepared.events) hub.bus.publish(toDraft(event));
    const written = await journal.checkpoint(entry, 'import');
    const status = statusOf(entry.actor.getSnapshot());
    const origin = signature === 'ours' ? 'this data directory' : 'elsewhere';
    const pausedOnLoad = prepared.statusInBundle === 'running';
    hub.bus.publish({
      type: 'CHECKPOINT_RESTORED',
      workflowId: id,
      severity: origin === 'elsewhere' ? 'warning' : 'info',
      data: { checkpoint: written.id, source: 'load-state', path, origin, status_in_bundle: prepared.statusInBundle, paused_on_load: pausedOnLoad, epoch: entry.epoch },
    });
    hub.scheduler.pump(entry);
    const toRun = ENDED_STATUSES.has(status) ? [] : tasksToRun(entry);
    // the whole bundle was checked (every checkpoint's sha256, and each restored in memory) whatever was asked
    const warnings = params.verify_integrity ? [] : [INTEGRITY_ALWAYS.bundle];
    const agents = params.restore_agents ? restoreAgents(hub, entry, warnings) : null;
    return {
      result: {
        workflow_id: id,
        status,
        status_in_bundle: prepared.statusInBundle,
        paused_on_load: pausedOnLoad,
        origin,
        checkpoints: prepared.checkpoints.length,
        events: prepared.events.length,
        epoch: entry.epoch,
        tasks_to_run: toRun.slice(0, TASKS_SHOWN),
        ...(toRun.length > TASKS_SHOWN ? { more_tasks_to_run: toRun.length - TASKS_SHOWN } : {}),
        ...(agents === null ? {} : { restored_agents: agents }),
      },
      next_steps: nextSteps(id, status, origin),
      warnings,
      metrics: {
        agents_affected: agents?.reduce((n, r) => n + r.added.length, 0) ?? 0,
        resources_used: `one bundle read, ${prepared.checkpoints.length} checkpoint(s) written`,
      },
    };
  },
};

/** The backup_location directory, created (private) if missing; BACKUP_LOCATION_INVALID when it cannot be, or is not a writable directory. */
async function backupDirectory(dir: string): Promise<string> {
  try {
    await mkdirPrivate(dir);
    if (!(await stat(dir)).isDirectory()) throw new Error('it exists and is not a directory');
    await access(dir, constants.W_OK | constants.X_OK);
    return dir;
  } catch (error) {
    throw new TroupeError('BACKUP_LOCATION_INVALID', `The backup location ${dir} cannot take the bundle`, {
      details: `${error instanceof Error ? error.message : String(error)}. backup_location is a directory (created if missing); the bundle goes in under its default name`,
    });
  }
}

/** Tasks listed in load-state's answer; a bigger workflow says how many more. */
const TASKS_SHOWN = 100;

/** Reads and verifies a bundle file: CHECKPOINT_CORRUPT for a torn, altered or oversized one. */
async function readBundleFile(path: string, key: Buffer | null): Promise<{ bundle: StateBundle; signature: BundleSignature }> {
  try {
    // a file far larger than any bundle is refused before it is read into memory
    if ((await stat(path)).size > MAX_BUNDLE_BYTES) throw new CorruptBundleError(`larger than ${MAX_BUNDLE_BYTES} bytes, the most a bundle may hold`);
    return readBundle(await readFile(path), { key });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TroupeError(missing ? 'FILE_NOT_FOUND' : 'CHECKPOINT_CORRUPT', missing ? `No state bundle at ${path}` : `The state bundle ${path} failed its integrity check`, {
      details: error instanceof Error ? error.message : String(error),
    });
  }
}

/** The epoch of the newest valid stored checkpoint of `id` (a workflow that is not loaded), or -1. */
async function storedEpoch(hub: HubState, id: unknown): Promise<number> {
  if (!isSafeId(id)) return -1;
  const { checkpoint } = await journalOf(hub, 'load-state').checkpoints.loadNewestValid(id);
  return checkpoint?.header.epoch ?? -1;
}

/** WORKFLOW_EXISTS unless `overwrite`; INVALID_TRANSITION for a workflow that is started and not ended. */
async function refuseToReplace(hub: HubState, id: string, existing: WorkflowEntry | undefined, overwrite: boolean): Promise<void> {
  const stored = (await journalOf(hub, 'load-state').checkpoints.list(id)).length > 0;
  if ((existing || stored) && !overwrite) {
    throw new TroupeError('WORKFLOW_EXISTS', `Workflow ${id} already exists here; loading the bundle would overwrite it`, {
      details: 'Pass {"overwrite":true} to replace it, or load the bundle into another data directory',
    });
  }
  const status = existing ? statusOf(existing.actor.getSnapshot()) : null;
  if (status !== null && !ENDED_STATUSES.has(status) && status !== 'created') {
    throw new TroupeError('INVALID_TRANSITION', `Workflow ${id} is ${status}; it cannot be overwritten while it runs`, { details: 'Pause or cancel it first' });
  }
}

/** What `start`/`resume` would run: tasks not ended, of the live phase and the phases after it, with their handler and input. */
function tasksToRun(entry: WorkflowEntry): { phase: string; task_id: string; handler: string; input: unknown }[] {
  const snapshot = entry.actor.getSnapshot();
  const { spec, phaseIndex } = snapshot.context;
  const live = (snapshot.children.phase as PhaseRef | undefined)?.getSnapshot().context.tasks;
  const done = new Set(['completed', 'failed', 'skipped', 'cancelled']);
  return spec.phases.slice(phaseIndex).flatMap((phase, i) =>
    phase.tasks
      .filter((task) => !(i === 0 && live && done.has(live[task.id]?.status ?? '')))
      .map((task) => ({ phase: phase.name, task_id: task.id, handler: task.handler, input: task.input })),
  );
}

function nextSteps(id: string, status: WorkflowStatus, origin: string): string[] {
  const go = status === 'paused' ? 'resume' : status === 'created' ? 'start' : null;
  if (go === null) return [`See it with '${id} get-status'`];
  return [
    ...(origin === 'elsewhere' ? [`Made elsewhere: check tasks_to_run (the handlers and inputs, e.g. exec commands, that ${go} runs) before '${id} ${go}'`] : []),
    `Nothing runs until '${id} ${go}'`,
  ];
}

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


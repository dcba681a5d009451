import { rm } from 'node:fs/promises';
import { systemClock } from '../actors/clock.js';
import { TroupeError } from './errors.js';
import type { HubState } from './hub-state.js';
import { ENDED_STATUSES, statusOf } from './scheduling/workflow-entry.js';

/**
 * A hub's graceful shutdown: nothing new starts, running tasks get `graceMs`
 * to finish (their outcomes are logged and applied), the rest are aborted
 * (exec process groups ended) and run again at the next start, every changed
 * workflow is checkpointed, then the pool, the runner and the journal close.
 */
export async function shutDown(state: HubState, graceMs: number): Promise<void> {
  state.scheduler.halt();
  state.health.close();
  state.resources.close();
  state.subscriptions.close();
  state.maintenance.closed = true;
  state.maintenance.timer?.cancel();
  for (const reject of [...state.waits]) reject(new TroupeError('HUB_CLOSED', 'The hub shut down while waiting'));
  const running = [...state.workflows.values()].flatMap((e) => [...e.inFlight.values()]);
  const busy = new Set([...state.workflows.values()].filter((e) => e.inFlight.size > 0));
  for (const entry of state.workflows.values()) {
    // every timer of the workflow (retry, deadline, checkpoint interval); running tasks drain below
    state.scheduler.detach(entry);
    entry.watchers.clear();
  }
  if (running.length > 0) {
    let timer: { cancel(): void } | undefined;
    const grace = new Promise<void>((resolve) => (timer = systemClock.setTimer(graceMs, resolve)));
    await Promise.race([Promise.all(running.map((f) => f.run.result)), grace]);
    timer?.cancel();
    for (const flight of running) flight.run.abort({ name: 'ShutdownError', code: 'HUB_SHUTDOWN', message: 'The hub shut down', retryable: true });
    await Promise.all(running.map((f) => f.run.result));
  }
  // outcomes that arrived during the grace period are logged first, then applied (one more
  // turn of the loop), so the shutdown checkpoints include them
  await state.journal?.log.flush();
  await new Promise((resolve) => setImmediate(resolve));
  // every workflow's state now, including what finished during the grace period; the
  // tasks stopped by the shutdown have no outcome, so they run again after the restart
  await Promise.allSettled([...state.workflows.values()].map((e) => e.checkpointChain));
  if (state.journal) {
    state.bus.publish({ type: 'SYSTEM_SHUTDOWN', data: { component_name: 'hub', shutdown_reason: 'close requested', workflows: state.workflows.size } });
    // only what changed since its last checkpoint (lifecycle commands checkpoint themselves): outcomes
    // applied after it, or tasks stopped by this shutdown, which the checkpoint lists as in flight
    const active = [...state.workflows.values()].filter(
      (e) => !ENDED_STATUSES.has(statusOf(e.actor.getSnapshot())) && (e.appliedSeq > e.checkpointedAppliedSeq || busy.has(e)),
    );
    await Promise.allSettled(active.map((e) => state.journal!.checkpoint(e, 'shutdown')));
    // the agents' records and the KPIs' totals as they are at the end (after SYSTEM_SHUTDOWN: they count it)
    await state.stateFiles?.saveAll();
    // the durable subscriptions' positions as they are at the end (what they have not delivered comes again at the next start)
    await state.subscriptions.persisted().catch(() => {});
  }
  for (const entry of state.workflows.values()) entry.actor.stop();
  await state.maintenance.running;
  state.pool.stop();
  await state.runner.close();
  await state.journal?.close();
  if (state.taskFiles.temporary) await rm(state.taskFiles.root, { recursive: true, force: true });
}

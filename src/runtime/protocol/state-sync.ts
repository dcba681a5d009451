import { cpuUsage, memoryUsage, uptime } from 'node:process';
import { isDone, isTerminal } from '../../machines/phase-records.js';
import { criticalPath } from '../../machines/task-graph.js';
import type { EventRecord } from '../events/event-record.js';
import type { HubState } from '../hub-state.js';
import { phaseRecords } from '../scheduling/status.js';
import type { WorkflowEntry } from '../scheduling/workflow-entry.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const GB = 1024 ** 3;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The current phase's estimated end: the longest chain of its unfinished tasks' estimates from now; without estimates, the observed rate of its finished tasks; null when neither says. */
function estimatedCompletion(now: number, phase: ReturnType<typeof phaseRecords>[number]): string | null {
  if (phase.status !== 'running') return iso(phase.finishedAt);
  const open = phase.spec.tasks.filter((_, i) => !isTerminal(phase.tasks[i]!));
  const ids = new Set(open.map((t) => t.id));
  const { durationMs } = criticalPath(open.map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => ids.has(d)) })));
  if (durationMs > 0) return iso(now + durationMs);
  const done = phase.tasks.length - open.length;
  if (done === 0 || phase.startedAt === null) return null;
  return iso(now + ((now - phase.startedAt) / done) * open.length);
}

/**
 * The protocol's `workflow_state` message (protocol-standards.md, "Workflow
 * State Message"), measured: `get-status {"format":"state_sync"}`.
 * `synchronization_confidence` is left out: troupe has nothing to measure it
 * by. `conflict_detected` compares the newest stored checkpoint with the live
 * state: another epoch, or a checkpoint newer than the live state's own.
 */
export async function stateSyncMessage(hub: HubState, entry: WorkflowEntry) {
  const now = hub.clock.now();
  const snapshot = entry.actor.getSnapshot();
  const phases = phaseRecords(snapshot);
  const index = Math.min(snapshot.context.phaseIndex, phases.length - 1);
  const phase = phases[index];
  const recent = hub.bus.recent(entry.id);
  const stored = await newestCheckpoint(hub, entry);
  const conflict = stored !== null && stored.header !== null && (stored.header.epoch !== entry.epoch || stored.header.seq > entry.checkpointSeq);
  const agents: Record<string, { status: string; current_task: string | null; progress: number | null; performance_score: number }> = {};
  for (const p of phases) {
    for (const task of p.tasks) {
      const view = task.agentId === null ? undefined : hub.pool.view(task.agentId);
      if (!view || agents[view.agent_id]) continue;
      const current = view.current_tasks[0] ?? null;
      // a task's progress is what its handler reported, which troupe does not keep per task: null
      agents[view.agent_id] = { status: view.state, current_task: current, progress: null, performance_score: view.performance_score };
    }
  }
  const cpu = cpuUsage();
  // the work done, as get-status counts it (a failed, cancelled or skipped-by-a-failure task is none; a completed phase is all)
  const tasksDone = phase ? phase.tasks.filter(isDone).length : 0;
  const phaseDone = phase !== undefined && (phase.status === 'completed' || phase.resumed);
  return {
    workflow_state: {
      message_type: 'state_sync',
      workflow_id: entry.id,
      timestamp: iso(now),
      state_version: hub.stateVersions.of(entry, recent),
      checkpoint_id: stored?.id ?? null,
      current_phase: phase
        ? {
            phase_id: index + 1,
            name: phase.spec.name,
            progress: phaseDone ? 100 : phase.tasks.length === 0 ? 0 : round((tasksDone / phase.tasks.length) * 100, 1),
            started_at: iso(phase.startedAt),
            estimated_completion: estimatedCompletion(now, phase),
          }
        : null,
      agent_states: agents,
      resource_usage: {
        memory_current: round(memoryUsage().rss / GB, 3),
        cpu_utilization: round(((cpu.user + cpu.system) / 1_000 / (uptime() * 1_000)) * 100, 1),
        storage_used: round((stored?.totalBytes ?? 0) / GB, 6),
        units: { memory_current: 'GB (supervisor process, resident)', cpu_utilization: '% of one core since the supervisor started', storage_used: "GB (this workflow's checkpoints)" },
      },
      validation_required: [
        ...(stored?.header === null ? ['state_integrity'] : []),
        ...(conflict ? ['conflict_resolution'] : []),
        ...(entry.pendingOutcomes.size > 0 ? ['outcomes_pending'] : []),
      ],
      metadata: { last_update_source: recent.at(-1)?.source ?? 'hub', conflict_detected: conflict },
    },
  };
}

/** The newest stored checkpoint (its header, or null when it fails its check) and the bytes of them all; null without a data directory or checkpoint. */
async function newestCheckpoint(hub: HubState, entry: WorkflowEntry) {
  if (!hub.journal) return null;
  await entry.checkpointChain;
  const infos = await hub.journal.checkpoints.list(entry.id);
  const info = infos.at(-1);
  if (!info) return null;
  const header = await hub.journal.checkpoints.read(info).then(
    (loaded) => loaded.header,
    () => null,
  );
  return { id: info.id, header, totalBytes: infos.reduce((n, i) => n + i.size, 0) };
}

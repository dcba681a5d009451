import type { InspectionEvent } from 'xstate';
import type { EventDraft } from './event-record.js';

/** An `inspect` callback for `createActor`. */
export type Inspector = (event: InspectionEvent) => void;

/** Which actor of troupe an XState actor is. */
type ActorKind = 'workflow' | 'phase' | 'agent' | 'pool';

interface Traced {
  id?: string;
  sessionId: string;
}

/** A trace record waiting for the microtask; a phase's name is filled in then. */
interface Pending {
  draft: EventDraft & { data: Record<string, unknown> };
  phaseRef: Traced | null;
}

/**
 * The actor trace (off by default; the hub's `trace` option): XState's
 * inspection events `@xstate.event` (an event an actor received) and
 * `@xstate.snapshot` (the state it moved to) become ACTOR_TRACE events of
 * severity `debug`, named by troupe's ids instead of XState's session ids:
 * a workflow's root actor by its workflow id, its invoked phase by the phase
 * name, the pool's children by their agent ids.
 *
 * The records are published on a microtask, not inside the inspection
 * callback: XState calls it in the middle of a transition, and a publish
 * there would deliver to subscribers (which may send to actors) while the
 * actor is still stepping.
 */
export class ActorTrace {
  readonly #publish: (draft: EventDraft) => void;
  #pending: Pending[] = [];
  /**
   * Phase actors' names, from their snapshots' context. A phase receives its
   * init event before its first snapshot exists (and its snapshot cannot be
   * read while it initializes), so names are looked up when the records go out.
   */
  readonly #phaseNames = new WeakMap<Traced, string>();

  constructor(publish: (draft: EventDraft) => void) {
    this.#publish = publish;
  }

  /** The inspector of one workflow's actor system. */
  forWorkflow(workflowId: string): Inspector {
    return (event) => {
      const ref = event.actorRef as Traced;
      if (event.rootId === ref.sessionId) return this.#record(event, 'workflow', workflowId, workflowId, 'global');
      const name = event.type === '@xstate.snapshot' ? (event.snapshot as { context?: { name?: unknown } }).context?.name : undefined;
      if (typeof name === 'string') this.#phaseNames.set(ref, name);
      this.#record(event, 'phase', ref.id ?? ref.sessionId, workflowId, 'global', ref);
    };
  }

  /** The inspector of the agent pool: the pool itself and its agents. */
  forPool(): Inspector {
    return (event) => {
      const ref = event.actorRef as Traced;
      const root = event.rootId === ref.sessionId;
      this.#record(event, root ? 'pool' : 'agent', root ? 'pool' : (ref.id ?? ref.sessionId), 'global', 'global');
    };
  }

  #record(event: InspectionEvent, kind: ActorKind, actorId: string, workflowId: string, phase: string, phaseRef: Traced | null = null): void {
    let data: Record<string, unknown>;
    if (event.type === '@xstate.event') {
      const source = event.sourceRef as Traced | undefined;
      data = { inspection: event.type, actor_kind: kind, actor_id: actorId, session_id: event.actorRef.sessionId, event_type: event.event.type, source: source ? (source.id ?? source.sessionId) : null };
    } else if (event.type === '@xstate.snapshot') {
      const snapshot = event.snapshot as { value?: unknown; status?: string };
      data = { inspection: event.type, actor_kind: kind, actor_id: actorId, session_id: event.actorRef.sessionId, event_type: event.event.type, state_value: snapshot.value ?? null, status: snapshot.status ?? null };
    } else {
      return;
    }
    this.#pending.push({ draft: { type: 'ACTOR_TRACE', workflowId, phase, severity: 'debug', source: 'xstate', data }, phaseRef });
    if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const { draft, phaseRef } of pending) {
      const name = phaseRef && this.#phaseNames.get(phaseRef);
      if (name) {
        draft.phase = name;
        draft.data.actor_id = name;
      }
      this.#publish(draft);
    }
  }
}

import type { Clock } from '../actors/clock.js';
import type { HandlerRef } from '../actors/handler-registry.js';
import { createPiscinaRunner, type TaskRunner } from '../actors/task-runner.js';
import type { EventBus } from './events/event-bus.js';
import type { HubOptions } from './hub-options.js';
import type { HubState } from './hub-state.js';
import { withSystemReport } from './protocol/error-report.js';

/** The default task runner: a Piscina pool whose stray errors become SYSTEM_ERROR events with their error report. */
export function defaultRunner(options: HubOptions, clock: Clock, bus: EventBus, handlers: HandlerRef[]): TaskRunner {
  return createPiscinaRunner({
    clock,
    handlers,
    ...(options.maxThreads === undefined ? {} : { maxThreads: options.maxThreads }),
    onPoolError: (error) =>
      bus.publish({
        type: 'SYSTEM_ERROR',
        data: withSystemReport(
          { error_type: 'pool_error', affected_components: ['task-pool'], severity: 'error', message: error instanceof Error ? error.message : String(error) },
          undefined,
          clock.now(),
          'task_execution',
        ),
      }),
  });
}

/**
 * Connects the parts that follow every event: the KPIs, the subscriptions
 * (routed before the event is logged, so its record names them; delivered
 * after), the protocol's state versions, the handlers' activity, and the
 * health windows that count failed deliveries and dead letters.
 */
export function connectEventHub(state: HubState): void {
  const { bus, clock } = state;
  state.subscriptions.onDeliveryFailure = () => state.health.deliveryFailures.add(clock.now());
  state.subscriptions.onDeadLetter = () => state.health.deadLetters.add(clock.now());
  // state.kpis is replaced once, when the data directory's saved state is loaded: read it at each event
  bus.subscribe((event) => state.kpis.apply(event));
  bus.routeWith((event) => state.subscriptions.route(event));
  bus.subscribe((event) => state.subscriptions.deliver(event));
  bus.subscribe((event) => state.stateVersions.apply(event));
  bus.subscribe((event) => state.handlerActivity.apply(event, (id) => state.workflows.get(id)?.actor.getSnapshot().context.spec));
}

import type { EventRecord, Hub, HubResponse } from '../index.js';
import type { SocketClient } from './socket-client.js';

/**
 * Where `troupe run` sends its commands and hears its workflow's events:
 * a hub it opened itself (the workflow stops with the command), or the
 * supervisor that already holds the data directory (the workflow goes on
 * after the command ends; Ctrl-C only stops following it).
 */
export interface RunTarget {
  readonly where: 'local' | 'supervisor';
  execute(command: unknown): Promise<HubResponse>;
  /** calls `listener` with each event of workflow `workflowId` from now on; resolves to a function that stops it */
  follow(workflowId: string, listener: (event: EventRecord) => void): Promise<() => void>;
}

/** The hub of this process. */
export function localTarget(hub: Hub): RunTarget {
  return {
    where: 'local',
    execute: (command) => hub.execute(command),
    follow: (workflowId, listener) =>
      Promise.resolve(
        hub.subscribe((event) => {
          if (event.workflow_id === workflowId) listener(event);
        }),
      ),
  };
}

/** The running supervisor, over its control socket: one `subscribe-event` per followed workflow. */
export function supervisorTarget(client: SocketClient): RunTarget {
  const listeners = new Map<string, (event: EventRecord) => void>();
  client.onEvent = (subscriptionId, event) => listeners.get(subscriptionId)?.(event);
  return {
    where: 'supervisor',
    execute: (command) => client.execute(command),
    async follow(workflowId, listener) {
      const subscribed = await client.execute({ operation: 'subscribe-event', workflow_id: workflowId, parameters: { patterns: ['#'], max_queue: 100_000 } });
      if (subscribed.status === 'error') throw new Error(`${subscribed.error.code}: ${subscribed.error.message}`);
      const id = (subscribed.result as { subscription_id: string }).subscription_id;
      listeners.set(id, listener);
      return () => {
        listeners.delete(id);
        void client.execute({ operation: 'unsubscribe-event', parameters: { subscription_id: id } }).catch(() => {});
      };
    },
  };
}

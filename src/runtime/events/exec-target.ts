import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../../actors/clock.js';
import { formatDuration } from '../durations.js';
import type { EventRecord } from './event-record.js';
import type { TargetSession } from './subscriber-queue.js';

/** `target: {type:"exec", …}` of a subscription. */
export interface ExecTarget {
  type: 'exec';
  /** run with `sh -c` */
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  /** ms; the process group is killed after it */
  timeoutMs: number;
}

/** Output kept of each stream, for the failure reason (the end of it: where errors usually are). */
const OUTPUT_TAIL_BYTES = 2_048;

/** Keeps the last `OUTPUT_TAIL_BYTES` of a stream, whatever it writes. */
function tail(stream: NodeJS.ReadableStream | null): () => string {
  let kept = Buffer.alloc(0);
  stream?.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > OUTPUT_TAIL_BYTES) kept = kept.subarray(kept.length - OUTPUT_TAIL_BYTES);
  });
  return () => kept.toString('utf8').trim();
}

/** Distinct values, comma-joined: a batch's event types or workflows in one variable. */
const joined = (values: string[]) => [...new Set(values)].join(',');

/**
 * Delivers to a command: `sh -c command` gets the event record as JSON on
 * stdin (a batch: a JSON array), and TROUPE_EVENT_TYPE, TROUPE_EVENT_ID,
 * TROUPE_WORKFLOW_ID, TROUPE_SUBSCRIPTION_ID in its environment (a batch:
 * comma-joined, plus TROUPE_EVENT_COUNT). Exit 0 is delivered; another
 * status, a signal, or the timeout (on the hub's clock) is a failed delivery
 * whose reason carries the end of stderr. The process leads its own group,
 * so the timeout or a shutdown ends whatever it started. Asynchronous: the
 * publisher never waits, and the subscription's queue sends the next event
 * only once this one is done (in order, one at a time per subscription).
 */
export function execTargetSession(target: ExecTarget, clock: Clock): TargetSession {
  const running = new Set<ChildProcess>();
  const run = (subscriptionId: string, events: EventRecord[], payload: unknown) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('sh', ['-c', target.command], {
        cwd: target.cwd,
        env: {
          ...process.env,
          ...target.env,
          TROUPE_EVENT_TYPE: joined(events.map((e) => e.event_type)),
          TROUPE_EVENT_ID: events.map((e) => e.event_id).join(','),
          TROUPE_WORKFLOW_ID: joined(events.map((e) => e.workflow_id)),
          TROUPE_SUBSCRIPTION_ID: subscriptionId,
          TROUPE_EVENT_COUNT: String(events.length),
        },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
      running.add(child);
      const stdout = tail(child.stdout);
      const stderr = tail(child.stderr);
      let timedOut = false;
      const timer = clock.setTimer(target.timeoutMs, () => {
        timedOut = true;
        killGroup(child);
      });
      // a command that does not read stdin closes it early: that is not a failed delivery
      child.stdin!.on('error', () => {});
      child.stdin!.end(JSON.stringify(payload));
      child.on('error', (error) => {
        timer.cancel();
        running.delete(child);
        reject(new Error(`exec target could not start: ${error.message}`));
      });
      child.on('close', (code, signal) => {
        timer.cancel();
        running.delete(child);
        if (code === 0 && !timedOut) return resolve();
        const why = timedOut ? `timed out after ${formatDuration(target.timeoutMs)}` : code === null ? `killed by ${signal}` : `exited with ${code}`;
        const output = stderr() || stdout();
        reject(new Error(`exec target ${why}${output ? `: ${output}` : ''}`));
      });
    });
  return {
    onEvent: (subscriptionId, event) => run(subscriptionId, [event], event),
    onBatch: (subscriptionId, events) => run(subscriptionId, events, events),
    close() {
      for (const child of running) killGroup(child);
    },
  };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

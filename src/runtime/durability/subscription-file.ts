import { z } from 'zod';
import type { Clock } from '../../actors/clock.js';
import { packr } from '../../persistence/checkpoint-codec.js';
import { dataDirLayout } from '../../persistence/data-dir.js';
import { readStateFile, writeStateFile } from '../../persistence/state-file.js';
import type { EventRecord } from '../events/event-record.js';
import type { StoredSubscription, SubscriptionStore } from '../events/subscriptions.js';
import type { HubState } from '../hub-state.js';
import type { Journal } from './journal.js';
import type { StateFilesReport } from './recovery.js';

/** The kind and format version of `subscriptions.ckpt`. */
export const SUBSCRIPTIONS_FILE = { kind: 'troupe.subscriptions', version: 1 } as const;

const why = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0]! : String(error));

/** The shape a stored subscription must have to be made again (the spec was validated when it was subscribed). */
const storedEntrySchema = z.object({
  id: z.string().min(1),
  cursor: z.number().int().min(0),
  spec: z.looseObject({
    name: z.string().min(1),
    patterns: z.array(z.string().min(1)).min(1),
    filters: z.looseObject({}),
    policy: z.looseObject({ maxRetries: z.number(), backoffBaseMs: z.number(), maxQueue: z.number() }),
    target: z.looseObject({ type: z.enum(['exec', 'webhook']) }),
  }),
});
// each entry is checked on its own: one that cannot be made again is reported, the others still are
const storedSchema = z.object({ subscriptions: z.array(z.unknown()) });

/**
 * `subscriptions.ckpt`: the durable subscriptions and the seq each has
 * delivered up to. Every change (a subscription added, replaced or removed,
 * a delivery done) asks for a write; writes are atomic and checksummed
 * (state-file), one at a time, the newest state last, and an unchanged state
 * is not written again. The position written may lag the deliveries by the
 * write under way: after a crash those events are delivered again (at least
 * once; each carries its event_id to deduplicate by).
 */
export class SubscriptionFile implements SubscriptionStore {
  readonly path: string;
  readonly #clock: Clock;
  readonly #snapshot: () => StoredSubscription[];
  readonly #report: (message: string) => void;
  readonly #logFlushed: () => Promise<void>;
  #chain: Promise<void> = Promise.resolve();
  #queued = false;
  #last: Buffer | null = null;
  #lastError: string | null = null;

  constructor(path: string, clock: Clock, snapshot: () => StoredSubscription[], report: (message: string) => void, logFlushed: () => Promise<void>) {
    this.path = path;
    this.#logFlushed = logFlushed;
    this.#clock = clock;
    this.#snapshot = snapshot;
    this.#report = report;
  }

  /** The file as read at start: its bytes count as written. */
  loaded(body: unknown): void {
    this.#last = packr.pack(body);
  }

  changed(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#chain = this.#chain.then(() => {
      this.#queued = false;
      return this.#write().then(
        () => void (this.#lastError = null),
        (error: unknown) => {
          // said once per distinct failure; the next change tries again
          const message = why(error);
          if (message !== this.#lastError) {
            try {
              this.#report(message);
            } catch {
              // the hub is closing: the failure shows as the positions of the last write at the next start
            }
          }
          this.#lastError = message;
        },
      );
    });
  }

  flush(): Promise<void> {
    const written = this.#chain.then(() => this.#write());
    this.#chain = written.catch(() => {});
    return written;
  }

  async #write(): Promise<void> {
    const body = { subscriptions: this.#snapshot() };
    const bytes = packr.pack(body);
    if (this.#last?.equals(bytes)) return;
    // the events a position covers are on disk before the file claims them: a crash must not lose them from
    // the log and give their seqs to new events, which the stored position would then skip
    await this.#logFlushed();
    await writeStateFile(this.path, SUBSCRIPTIONS_FILE.kind, SUBSCRIPTIONS_FILE.version, this.#clock.now(), body);
    this.#last = bytes;
  }
}

/** First index of `events` (in seq order) with a seq above `seq`. */
function firstAfter(events: readonly EventRecord[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * At start, once events go to the log: subscriptions with a target become
 * durable from now on, and those stored are made again, each handed the
 * logged events after its position (those published while no supervisor
 * ran, or not delivered before a crash) ahead of live ones. A file that is
 * torn, corrupt or of another format is reported (ERROR_ENCOUNTERED) and
 * replaced at the next change.
 */
export async function restoreSubscriptions(state: HubState, journal: Journal, history: readonly EventRecord[]): Promise<NonNullable<StateFilesReport['subscriptions']>> {
  const path = dataDirLayout(journal.dataDir).subscriptions;
  const report = (message: string) =>
    state.bus.publish({ type: 'ERROR_ENCOUNTERED', severity: 'warning', data: { component: 'subscriptions', file: path, message: `Could not write the durable subscriptions: ${message}` } });
  const store = new SubscriptionFile(path, state.clock, () => state.subscriptions.stored(), report, () => journal.log.flush());
  state.subscriptions.useStore(store, () => journal.log.nextSeq - 1);
  const read = await readStateFile(path, SUBSCRIPTIONS_FILE.kind, SUBSCRIPTIONS_FILE.version);
  const found: NonNullable<StateFilesReport['subscriptions']> = { file: path, status: read.status === 'ok' ? 'restored' : read.status, subscriptions: 0, replayed_events: 0 };
  if (read.status === 'corrupt') found.reason = read.reason;
  // no file is the same as none stored: nothing is written until a durable subscription comes
  if (read.status === 'missing') store.loaded({ subscriptions: [] });
  if (read.status === 'ok') {
    const parsed = storedSchema.safeParse(read.body);
    if (parsed.success) {
      store.loaded(read.body);
      // the log's events, and any published since it was read (none, unless something ran in between)
      const lastLogged = history.at(-1)?.seq ?? 0;
      const events = [...history, ...state.bus.recent().filter((e) => e.seq > lastLogged)];
      for (const [i, entry] of parsed.data.subscriptions.entries()) {
        const checked = storedEntrySchema.safeParse(entry);
        if (!checked.success) {
          found.skipped = [...(found.skipped ?? []), `entry ${i}: ${z.prettifyError(checked.error).split('\n')[0]}`];
          continue;
        }
        const stored = checked.data as unknown as StoredSubscription;
        const replay = events.slice(firstAfter(events, stored.cursor));
        const added = state.subscriptions.add(undefined, stored.spec, { id: stored.id, cursor: stored.cursor, replay });
        found.subscriptions++;
        found.replayed_events += state.subscriptions.view(added.id)?.queued ?? 0;
      }
    } else {
      found.status = 'corrupt';
      found.reason = `not a list of subscriptions: ${z.prettifyError(parsed.error).split('\n')[0]}`;
    }
  }
  if (found.skipped) {
    state.bus.publish({
      type: 'ERROR_ENCOUNTERED',
      severity: 'warning',
      data: { component: 'subscriptions', file: path, reason: found.skipped.join('; '), action: 'these stored subscriptions were not made again (the others were): subscribe them again' },
    });
  }
  if (found.status === 'corrupt') {
    state.bus.publish({
      type: 'ERROR_ENCOUNTERED',
      severity: 'warning',
      data: { component: 'subscriptions', file: path, reason: found.reason, action: 'no durable subscription was made again: subscribe again (the file is replaced at the next change)' },
    });
  }
  return found;
}

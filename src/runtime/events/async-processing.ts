import type { EventRecord, Severity } from './event-record.js';

/** What `enable-async-processing` sets (hub-wide, like the batching configuration). */
export interface AsyncProcessingConfig {
  /** false: every queue delivers in arrival order, with no bound on deliveries under way */
  enabled: boolean;
  /** deliveries under way at once, over all subscriber queues */
  poolSize: number;
  /** strict: the most severe waiting event always goes first; weighted: weighted round robin over severities, so info is never starved */
  priorityScheme: 'strict' | 'weighted';
  /** the spec's optimization_mode, kept as given (troupe has one delivery path; see the operation's warnings) */
  optimizationMode: 'balanced' | 'throughput' | 'latency';
  /** the bound grows while queues wait for a slot (up to 4 × poolSize) and returns to poolSize once nothing is under way */
  autoScaling: boolean;
}

export const DEFAULT_ASYNC_PROCESSING: AsyncProcessingConfig = { enabled: false, poolSize: 8, priorityScheme: 'weighted', optimizationMode: 'balanced', autoScaling: false };

/** Share of the deliveries each severity gets under `weighted` while every severity waits: 8 critical, 4 error, 2 warning, 1 info (and debug) in 16. */
export const SEVERITY_WEIGHTS: Readonly<Record<Severity, number>> = { critical: 8, error: 4, warning: 2, info: 1, debug: 1 };
const BY_RANK: readonly Severity[] = ['critical', 'error', 'warning', 'info', 'debug'];

/**
 * How far ahead of its head a backed-up queue looks for a more urgent event:
 * bounds the cost of a pick (a queue of 100 000 waiting events is not scanned
 * whole for every delivery). An urgent event further back waits until it is
 * within this window.
 */
export const PRIORITY_WINDOW = 1_024;

/** The hub's priority and delivery-slot settings, shared by every subscriber queue. */
export class AsyncProcessing {
  #config: AsyncProcessingConfig = DEFAULT_ASYNC_PROCESSING;
  #busy = 0;
  #limit = Infinity;
  /** queues waiting for a slot, in the order they asked (a Set: a queue waits once however often it is kicked) */
  readonly #waiting = new Set<() => void>();
  /** measured since the configuration was set */
  stats = { peak_in_flight: 0, waited_for_slot: 0, reordered: 0 };

  get config(): AsyncProcessingConfig {
    return this.#config;
  }

  /** deliveries under way now */
  get inFlight(): number {
    return this.#busy;
  }

  /** the bound now (auto-scaling moves it); null when off */
  get limit(): number | null {
    return this.#config.enabled ? this.#limit : null;
  }

  configure(config: AsyncProcessingConfig): void {
    this.#config = config;
    this.#limit = config.enabled ? config.poolSize : Infinity;
    this.stats = { peak_in_flight: this.#busy, waited_for_slot: 0, reordered: 0 };
    this.#wakeWaiting();
  }

  /** Takes a delivery slot; false when all are taken, and then `wake` is called once one frees. */
  acquire(wake: () => void): boolean {
    if (this.#busy < this.#limit) {
      // counted only while a bound is on: the off path (every delivery by default) stays two integer steps
      if (++this.#busy > this.stats.peak_in_flight && this.#config.enabled) this.stats.peak_in_flight = this.#busy;
      return true;
    }
    if (!this.#waiting.has(wake)) {
      this.#waiting.add(wake);
      this.stats.waited_for_slot++;
      if (this.#config.autoScaling) this.#limit = Math.min(this.#config.poolSize * 4, this.#limit + 1);
    }
    return false;
  }

  /** Gives a slot back and lets waiting queues go on. */
  release(): void {
    if (--this.#busy === 0 && this.#config.autoScaling && this.#config.enabled) this.#limit = this.#config.poolSize;
    if (this.#waiting.size > 0) this.#wakeWaiting();
  }

  #wakeWaiting(): void {
    // a woken queue may find nothing to do (closed meanwhile): wake the next, as long as slots are free
    for (const wake of this.#waiting) {
      if (this.#busy >= this.#limit) return;
      this.#waiting.delete(wake);
      wake();
    }
  }

  /** A queue's picker: which waiting event goes next. */
  picker(): PriorityPicker {
    return new PriorityPicker(this);
  }

  countReorder(): void {
    this.stats.reordered++;
  }
}

/**
 * Picks the next event of one backed-up queue: the first waiting event (FIFO
 * within a severity, so a workflow's events of one severity keep their order)
 * of the severity the scheme chooses. `weighted` is smooth weighted round
 * robin: each pick adds every waiting severity's weight to its credit, takes
 * the one with the most, and takes the total off it.
 */
export class PriorityPicker {
  readonly #processing: AsyncProcessing;
  readonly #credit: Record<Severity, number> = { critical: 0, error: 0, warning: 0, info: 0, debug: 0 };

  constructor(processing: AsyncProcessing) {
    this.#processing = processing;
  }

  /** The index (within {@link PRIORITY_WINDOW}) of the event to deliver next; 0 when off or when only one waits. */
  pick(waiting: number, at: (i: number) => EventRecord | undefined): number {
    const { enabled, priorityScheme } = this.#processing.config;
    if (!enabled || waiting < 2) return 0;
    const first: Partial<Record<Severity, number>> = {};
    let kinds = 0;
    for (let i = 0; i < Math.min(waiting, PRIORITY_WINDOW) && kinds < BY_RANK.length; i++) {
      const severity = at(i)!.severity;
      if (first[severity] === undefined) {
        first[severity] = i;
        kinds++;
      }
    }
    if (kinds === 1) return 0;
    let chosen: Severity;
    if (priorityScheme === 'strict') chosen = BY_RANK.find((s) => first[s] !== undefined)!;
    else {
      let total = 0;
      for (const s of BY_RANK) if (first[s] !== undefined) (this.#credit[s] += SEVERITY_WEIGHTS[s]), (total += SEVERITY_WEIGHTS[s]);
      chosen = BY_RANK.filter((s) => first[s] !== undefined).reduce((best, s) => (this.#credit[s] > this.#credit[best] ? s : best));
      this.#credit[chosen] -= total;
    }
    const index = first[chosen]!;
    if (index > 0) this.#processing.countReorder();
    return index;
  }
}

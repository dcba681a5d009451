import { formatDuration, type EventRecord } from '../index.js';
import { progressBar, type Palette } from './format.js';

/**
 * The live status line of `troupe run` on a terminal: phase, tasks done of
 * total, the running tasks with their agents, elapsed time and a naive
 * estimate of what is left (elapsed / done × remaining). Event lines are
 * printed above it; it is redrawn in place.
 */
export class RunProgress {
  readonly #p: Palette;
  readonly #out: NodeJS.WritableStream;
  readonly #started = Date.now();
  readonly #running = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  #phase = '';
  #done: number;
  #total: number;
  #shown = false;
  /** the newest output line of each running task, fetched about once a second */
  #lines = new Map<string, string>();
  #fetching = false;
  #fetchedAt = 0;
  readonly #newestLines: (() => Promise<Map<string, string>>) | undefined;

  constructor(p: Palette, out: NodeJS.WritableStream, done: number, total: number, newestLines?: () => Promise<Map<string, string>>) {
    this.#p = p;
    this.#out = out;
    this.#done = done;
    this.#total = total;
    this.#newestLines = newestLines;
    this.#timer = setInterval(() => this.#draw(), 250);
    this.#timer.unref();
  }

  #fetchLines(): void {
    if (!this.#newestLines || this.#fetching || Date.now() - this.#fetchedAt < 1_000) return;
    this.#fetching = true;
    this.#newestLines()
      .then((lines) => (this.#lines = lines), () => {})
      .finally(() => {
        this.#fetching = false;
        this.#fetchedAt = Date.now();
      });
  }

  /** Prints `line` above the status line and updates the counters from `event`. */
  event(event: EventRecord, line: string | null): void {
    const task = String(event.data.task_id ?? '');
    if (event.event_type === 'PHASE_STARTED') this.#phase = event.phase;
    if (event.event_type === 'TASK_STARTED') this.#running.set(task, String(event.data.agent_id ?? ''));
    if (['TASK_COMPLETED', 'TASK_FAILED', 'TASK_TIMEOUT'].includes(event.event_type)) {
      this.#running.delete(task);
      if (event.event_type === 'TASK_COMPLETED' || event.data.will_retry === false) this.#done++;
    }
    if (line !== null) {
      this.#clear();
      this.#out.write(`${line}\n`);
    }
    this.#draw();
  }

  #clear(): void {
    if (this.#shown) this.#out.write('\r\u001b[K');
    this.#shown = false;
  }

  #draw(): void {
    const elapsed = Date.now() - this.#started;
    const percent = this.#total === 0 ? 100 : (this.#done / this.#total) * 100;
    const left = this.#done === 0 ? null : (elapsed / this.#done) * (this.#total - this.#done);
    this.#fetchLines();
    const running = [...this.#running].map(([task, agent]) => `${task}@${agent}`);
    const shown = running.length > 3 ? [...running.slice(0, 3), `+${running.length - 3}`] : running;
    // the newest line any running task printed: what it is doing now
    const latest = [...this.#running.keys()].map((t) => [t, this.#lines.get(t)] as const).find(([, l]) => l !== undefined);
    const said = latest ? `  ${latest[0]}: ${latest[1]!.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')}` : '';
    const line =
      `${progressBar(percent, 16)} ${this.#done}/${this.#total} tasks  ${this.#p.bold(this.#phase)}  ` +
      this.#p.dim(`${formatDuration(elapsed)} elapsed${left === null ? '' : `, ~${formatDuration(left)} left`}${shown.length > 0 ? `  running ${shown.join(' ')}` : ''}${said}`);
    this.#clear();
    // one terminal line: a long list of running tasks must not wrap
    const width = (this.#out as { columns?: number }).columns ?? 120;
    this.#out.write(line.length > width + 20 ? `${line.slice(0, width + 10)}…` : line);
    this.#shown = true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#clear();
  }
}

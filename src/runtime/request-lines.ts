/** Requests longer than this (bytes, without the newline) are refused with an error response. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** What a connection's bytes hold: a request line, or the notice that one was too long (and discarded). */
export type RequestItem = { kind: 'line'; text: string } | { kind: 'oversized' };

/**
 * Splits a connection's bytes into request lines (newline-delimited, an
 * optional `\r` before the newline, blank lines skipped). A line longer than
 * {@link MAX_REQUEST_BYTES} is discarded up to its newline and reported once
 * as `oversized`, so a client cannot make the supervisor hold an endless line.
 * At the end of input a last line without a newline is a request too.
 *
 * @example
 * const lines = new RequestLines();
 * lines.push(Buffer.from('{"operation":"health"}\n{"operation":'));  // [{ kind: 'line', text: '{"operation":"health"}' }]
 * lines.end();                                                         // [{ kind: 'line', text: '{"operation":' }]
 */
export class RequestLines {
  #buffer: Buffer = Buffer.alloc(0);
  #discarding = false;

  /** The complete items in `chunk` (with what came before it). */
  push(chunk: Buffer): RequestItem[] {
    const items: RequestItem[] = [];
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (let newline = this.#buffer.indexOf(10); newline !== -1; newline = this.#buffer.indexOf(10)) {
      const line = this.#buffer.subarray(0, newline);
      this.#buffer = this.#buffer.subarray(newline + 1);
      if (this.#discarding) {
        this.#discarding = false;
        continue;
      }
      const item = lineItem(line);
      if (item) items.push(item);
    }
    if (this.#discarding) {
      this.#buffer = Buffer.alloc(0);
    } else if (this.#buffer.length > MAX_REQUEST_BYTES) {
      this.#discarding = true;
      this.#buffer = Buffer.alloc(0);
      items.push({ kind: 'oversized' });
    }
    return items;
  }

  /** The end of input: a last line that had no newline is a request like any other. */
  end(): RequestItem[] {
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    if (this.#discarding) return [];
    const item = lineItem(rest);
    return item ? [item] : [];
  }
}

function lineItem(line: Buffer): RequestItem | null {
  const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
  if (end === 0) return null;
  return { kind: 'line', text: line.subarray(0, end).toString('utf8') };
}

import { errorResponse, isOperation, TroupeError, type HubResponse } from '../index.js';

/** What a REPL (or script, or `troupe exec`) session remembers between its lines. */
export interface LineContext {
  /** sent as the correlation_id of every command that follows; null: none */
  correlationId: string | null;
}

export const newLineContext = (): LineContext => ({ correlationId: null });

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The session's own line `correlate ID` (the commands that follow carry
 * correlation_id ID, so the events they cause can be found with
 * `get-events {"correlation_id":"ID"}`), `correlate off`, or `correlate`
 * (says the one in use). Answers null for any other line, including
 * `correlate get-status` (a workflow named correlate).
 */
export function correlateLine(line: string, context: LineContext, now: number): HubResponse | null {
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'correlate' || (words[1] !== undefined && isOperation(words[1]))) return null;
  const envelope = { operation: 'correlate' };
  if (words.length > 2 || (words[1] !== undefined && words[1] !== 'off' && !ID.test(words[1]))) {
    return errorResponse(
      new TroupeError('VALIDATION_FAILED', 'correlate takes one id, or off', { details: 'An id is 1 to 128 letters, digits, _ . : or -, e.g. correlate corr_456' }),
      envelope,
      now,
    );
  }
  if (words[1] !== undefined) context.correlationId = words[1] === 'off' ? null : words[1];
  const id = context.correlationId;
  return {
    status: 'success',
    ...envelope,
    timestamp: new Date(now).toISOString(),
    result: { correlation_id: id },
    metrics: { execution_time: '0ms' },
    next_steps: id === null ? [] : [`The commands that follow carry correlation_id ${id}; their events: 'get-events {"correlation_id":"${id}"}'; stop with 'correlate off'`],
  };
}

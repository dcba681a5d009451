/**
 * An expression that cannot run: a syntax error, a name that is not a root,
 * a type error the checker can prove before running, or a construct refused
 * for the hub's sake (see expression-shape.ts).
 *
 * @example
 * try { compileExpression('1 +') } catch (e) { if (e instanceof ExpressionSyntaxError) e.position } // 3
 */
export class ExpressionSyntaxError extends Error {
  override readonly name: string = 'ExpressionSyntaxError';
  /** 0-based character offset inside the text that was compiled. */
  readonly position: number;
  /** What is wrong, without the position or the excerpt. */
  readonly reason: string;

  constructor(reason: string, position: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.position = position;
  }
}

/**
 * An evaluation that failed: a missing key, a type mismatch, a root the
 * context does not have, or a result JSON cannot hold.
 *
 * @example
 * try { evaluateExpression(compileExpression('tasks.a.output.x'), ctx) } catch (e) { e.reason } // "No such key: x"
 */
export class ExpressionEvalError extends Error {
  override readonly name: string = 'ExpressionEvalError';
  /** 0-based character offset inside the evaluated text, or null when no part of it is to blame (the result). */
  readonly position: number | null;
  /** What went wrong, without the position or the excerpt. */
  readonly reason: string;

  constructor(reason: string, position: number | null, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
    this.position = position;
  }
}

const EXCERPT_WIDTH = 72;

/**
 * The line of `text` holding `position`, cut to a readable width, with a caret
 * under the position. Expressions are short, templates may be long strings of
 * shell text, so the excerpt is centred on the error rather than starting the line.
 */
export function pointAt(text: string, position: number): string {
  const lineStart = text.lastIndexOf('\n', position - 1) + 1;
  const newline = text.indexOf('\n', position);
  const line = text.slice(lineStart, newline < 0 ? text.length : newline);
  const column = position - lineStart;
  const from = Math.max(0, Math.min(column - EXCERPT_WIDTH / 2, line.length - EXCERPT_WIDTH));
  const shown = line.slice(from, from + EXCERPT_WIDTH);
  const caret = ' '.repeat(Math.max(0, column - from));
  return `    ${from > 0 ? '…' : ''}${shown}${from + EXCERPT_WIDTH < line.length ? '…' : ''}\n    ${from > 0 ? ' ' : ''}${caret}^`;
}

/** A syntax error at `position` of `text`, its message carrying the excerpt. */
export function syntaxErrorAt(text: string, reason: string, position: number, cause?: unknown): ExpressionSyntaxError {
  const message = `Invalid expression at character ${position}: ${reason}\n${pointAt(text, position)}`;
  return new ExpressionSyntaxError(reason, position, message, cause === undefined ? undefined : { cause });
}

/** An evaluation error at `position` of `text`, or (null) one no part of the text is to blame for. */
export function evalErrorAt(text: string, reason: string, position: number | null, cause?: unknown): ExpressionEvalError {
  const message =
    position === null
      ? `Expression ${quoted(text)} failed: ${reason}`
      : `Expression failed at character ${position}: ${reason}\n${pointAt(text, position)}`;
  return new ExpressionEvalError(reason, position, message, cause === undefined ? undefined : { cause });
}

function quoted(text: string): string {
  const trimmed = text.trim();
  return JSON.stringify(trimmed.length > EXCERPT_WIDTH ? `${trimmed.slice(0, EXCERPT_WIDTH)}…` : trimmed);
}

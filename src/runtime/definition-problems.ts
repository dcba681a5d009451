import { z } from 'zod';
import type { TaskSpec } from '../machines/types.js';
import { recoverySuggestions, TroupeError } from './errors.js';
import { unknownKeyHints } from './suggest.js';

/** Problems after the schema's the details list at most: a graph of thousands of tasks must not make a message of thousands of lines. */
const LISTED_PROBLEMS = 50;

/**
 * Every problem a workflow definition has, gathered so that one answer lists
 * them all instead of one per round trip: the schema's issues (wrong types,
 * unknown keys, bad durations) and what the checks after it refuse (ids,
 * dependencies, cycles, handlers, expressions), each with the path of the
 * field at fault (`phases[1].tasks[0].depends_on`).
 */
export class DefinitionProblems {
  #schema: z.ZodError | null = null;
  readonly #found: { error: TroupeError; path: string }[] = [];

  /** The schema's issues (all of them: zod does not stop at the first). */
  schema(error: z.ZodError): void {
    this.#schema = error;
  }

  /** One problem a check found, at `path`. */
  add(error: TroupeError, path: string): void {
    this.#found.push({ error, path });
  }

  /** Runs `check`; a TroupeError it throws is one problem at `path` (a function of the error, when the check can fail in several fields), and the checking goes on. */
  collect(path: string | ((error: TroupeError) => string), check: () => void): void {
    try {
      check();
    } catch (error) {
      if (!(error instanceof TroupeError)) throw error;
      this.add(error, typeof path === 'string' ? path : path(error));
    }
  }

  get count(): number {
    return (this.#schema?.issues.length ?? 0) + this.#found.length;
  }

  /**
   * What was found as the error to throw, or null when nothing was. One problem keeps its own code,
   * message and details, as when checking stopped at the first: a schema's
   * issues alone are one VALIDATION_FAILED (`invalid.message`, zod's text,
   * and a "did you mean" for each unknown key when `invalid.keyHints` names
   * the schema to suggest from). Several are answered with the code and
   * message of the first (schema issues come first) and every one in the
   * details, each as `✖ CODE: what`, its details indented below, then
   * `  → at path` (a schema issue as zod writes it, without the code).
   */
  error(invalid: DefinitionInvalid): TroupeError | null {
    if (this.count === 0) return null;
    const schema = this.#schema;
    const hints = schema && invalid.keyHints ? unknownKeyHints(invalid.keyHints, schema) : [];
    const suggestions = invalid.suggestions ? { suggestions: invalid.suggestions } : {};
    if (schema && this.#found.length === 0) {
      return new TroupeError('VALIDATION_FAILED', invalid.message, { details: [z.prettifyError(schema), ...hints].join('\n'), ...suggestions });
    }
    if (!schema && this.#found.length === 1) return this.#found[0]!.error;
    const listed = this.#found.slice(0, LISTED_PROBLEMS);
    const lines = [
      ...(schema ? [z.prettifyError(schema)] : []),
      ...listed.map(({ error, path }) => [`✖ ${error.code}: ${error.message}`, ...(error.details ? error.details.split('\n').map((line) => `  ${line}`) : []), `  → at ${path}`].join('\n')),
      ...(this.#found.length > listed.length ? [`✖ … and ${this.#found.length - listed.length} more not listed here`] : []),
      ...hints,
    ];
    const first = schema ? { code: 'VALIDATION_FAILED' as const, message: invalid.message } : this.#found[0]!.error;
    // the response adds the first code's suggestions; the other codes' come with it
    const others = [...new Set(this.#found.map(({ error }) => error.code))].filter((code) => code !== first.code);
    const more = [...(schema ? (invalid.suggestions ?? []) : []), ...others.flatMap((code) => recoverySuggestions[code] ?? [])];
    return new TroupeError(first.code, `${first.message} (1 of ${this.count} problems: all are listed in the details)`, {
      details: lines.join('\n'),
      ...(more.length > 0 ? { suggestions: [...new Set(more)] } : {}),
    });
  }
}

/** How a definition's schema issues are answered: the message, and where "did you mean" looks for keys. */
export interface DefinitionInvalid {
  message: string;
  keyHints?: z.ZodType;
  suggestions?: readonly string[];
}

/** A task and where it is written. */
export interface LocatedTask {
  task: TaskSpec;
  /** index of its phase, and of the task in it */
  phase: number;
  index: number;
  phaseName: string;
  /** whether its `handler` field is a name (a task whose handler the schema refused is not looked up) */
  handlerGiven: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
const recovery = (value: unknown) => (value === 'adopt' || value === 'restart' ? value : undefined);

/**
 * The tasks of a definition the schema refused, read as far as they can be:
 * each task with a string id, its fields of the right type (the others are
 * the schema's to report), at its own position. So a file with a wrong type
 * in one place still has its dependencies, cycles and handlers checked in
 * the same answer.
 */
export function lenientTasks(definition: unknown): LocatedTask[] {
  const found: LocatedTask[] = [];
  const phases = isObject(definition) && Array.isArray(definition.phases) ? (definition.phases as unknown[]) : [];
  phases.forEach((phase, p) => {
    if (!isObject(phase) || !Array.isArray(phase.tasks)) return;
    const phaseName = text(phase.name) ?? `#${p + 1}`;
    (phase.tasks as unknown[]).forEach((raw, t) => {
      if (!isObject(raw) || typeof raw.id !== 'string') return;
      const handler = text(raw.handler);
      const onRecovery = recovery(raw.on_recovery);
      const compensate = isObject(raw.compensate) ? raw.compensate : null;
      const compensateHandler = compensate ? text(compensate.handler) : undefined;
      const task: TaskSpec = {
        id: raw.id,
        description: null,
        handler: handler ?? '',
        role: 'general',
        input: raw.input ?? {},
        dependsOn: Array.isArray(raw.depends_on) ? raw.depends_on.filter((d): d is string => typeof d === 'string') : [],
        timeoutMs: 0,
        retries: 0,
        exclusiveFiles: [],
        estimatedDurationMs: 0,
        risky: false,
        ...(onRecovery === undefined ? {} : { onRecovery }),
        ...(typeof raw.when === 'string' && raw.when.trim() !== '' ? { when: raw.when.trim() } : {}),
        ...(compensateHandler === undefined ? {} : { compensate: { handler: compensateHandler, input: compensate!.input ?? {}, timeoutMs: 0, retries: 0 } }),
      };
      found.push({ task, phase: p, index: t, phaseName, handlerGiven: handler !== undefined });
    });
  });
  return found;
}

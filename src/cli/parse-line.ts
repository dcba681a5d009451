import { resolve } from 'node:path';
import { checkJsonTextNesting, isOperation, OPERATIONS, TroupeError, type Command } from '../index.js';
import { parseParamsText, readParamsFile } from './params-file.js';

/** A REPL line, split into its parts; params still raw text. */
export interface ParsedLine {
  workflowId?: string;
  operation: string;
  /** the JSON object text, or `@path` */
  paramsText: string;
}

/**
 * Splits `<workflow-id> <operation> [params]` or `<operation> [params]`.
 * The first word is the operation when it names one that takes no workflow
 * id, or when the second word is not an operation; otherwise it is the
 * workflow id.
 */
export function splitLine(line: string): ParsedLine | null {
  const text = line.trim().replace(SPEC_PREFIX, '');
  // a request object is not split into words (lineToCommand reads it whole)
  if (text === '' || text.startsWith('#') || text.startsWith('{')) return null;
  const [first = '', rest1 = ''] = splitWord(text);
  const [second = '', rest2 = ''] = splitWord(rest1);
  const firstIsOp = isOperation(first);
  const secondLooksLikeOp = second !== '' && !second.startsWith('{') && !second.startsWith('@');
  // `help <operation>` is the one bare word that is a parameter
  if (first === 'help' && secondLooksLikeOp && rest2.trim() === '') {
    return { operation: 'help', paramsText: JSON.stringify({ operation: second }) };
  }
  if (firstIsOp && (OPERATIONS[first].workflow === 'none' || !secondLooksLikeOp)) {
    return { operation: first, paramsText: unquote(rest1) };
  }
  if (second === '' || !secondLooksLikeOp) return { operation: first, paramsText: unquote(rest1) };
  return { workflowId: first, operation: second, paramsText: unquote(rest2) };
}

/**
 * The spec writes its examples as shell lines, `/coordination-hub workflow_123
 * create '{…}'`: a line copied from it keeps working, so the command name in
 * front is dropped and single quotes around the JSON are the shell's, not
 * part of it.
 */
const SPEC_PREFIX = /^\/?coordination-hub\s+/;

function unquote(text: string): string {
  const trimmed = text.trim();
  return trimmed.length >= 2 && trimmed.startsWith("'") && trimmed.endsWith("'") ? trimmed.slice(1, -1).trim() : trimmed;
}

function splitWord(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text.trim());
  return match ? [match[1]!, match[2]!] : ['', ''];
}

/**
 * Reads `@path` (JSON or YAML; a regular file of at most 8 MiB, see
 * {@link readParamsFile}) or parses inline JSON; `''` is no parameters.
 * Either is refused when it nests deeper than {@link MAX_PARAMS_DEPTH} levels,
 * before a parser that recurses sees it.
 */
export async function parseParams(text: string, cwd = process.cwd()): Promise<unknown> {
  if (text === '') return undefined;
  if (text.startsWith('@')) {
    const path = resolve(cwd, text.slice(1).trim());
    return parseParamsText(await readParamsFile(path), path);
  }
  return parseJson(text, 'the parameters', 'Parameters are not valid JSON');
}

/** JSON text, checked for nesting before the parser recurses; PARSE_ERROR naming what it was. */
function parseJson(text: string, what: string, message: string): unknown {
  checkJsonTextNesting(text, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TroupeError('PARSE_ERROR', message, {
      details: `${error instanceof Error ? error.message : String(error)} in: ${text}`,
    });
  }
}

/** Turns one REPL line into a command for `hub.execute`, or null for a blank line or comment. */
export async function lineToCommand(line: string, cwd?: string): Promise<Command | null> {
  if (line.trimStart().startsWith('{')) return requestToCommand(line.trim());
  const parts = splitLine(line);
  if (!parts) return null;
  const parameters = await parseParams(parts.paramsText, cwd);
  return {
    operation: parts.operation,
    ...(parts.workflowId === undefined ? {} : { workflow_id: parts.workflowId }),
    ...(parameters === undefined ? {} : { parameters }),
  };
}

/**
 * A line that is a JSON object is a request in the spec's own form,
 * `{"workflow_id":"wf_1","operation":"start","parameters":{…}}`; the hub
 * checks its envelope like any other command's.
 */
function requestToCommand(text: string): Command {
  const request = parseJson(text, 'the request', 'The request is not valid JSON');
  if (typeof request !== 'object' || request === null || Array.isArray(request) || typeof (request as { operation?: unknown }).operation !== 'string') {
    throw new TroupeError('PARSE_ERROR', 'A line that starts with { is a request object and needs an "operation"', {
      details: `Write {"workflow_id":"wf_1","operation":"start","parameters":{}} or the REPL form: wf_1 start {}; got: ${text.slice(0, 200)}`,
    });
  }
  return request as Command;
}

/**
 * Joins continuation lines: a line whose JSON parameters open more braces
 * or brackets than they close continues on the next line (multi-line JSON in
 * the interactive REPL; scripts stay one line per command). `push` returns the whole command text once it is
 * complete, or null while it needs more.
 */
export class LineAssembler {
  #parts: string[] = [];

  /** true while a command is half-entered */
  get pending(): boolean {
    return this.#parts.length > 0;
  }

  push(line: string): string | null {
    this.#parts.push(line);
    const text = this.#parts.join('\n');
    if (depth(text) > 0) return null;
    this.#parts = [];
    return text;
  }

  /** drops a half-entered command (Ctrl-C) */
  reset(): void {
    this.#parts = [];
  }
}

/** Open braces/brackets minus closed ones, outside JSON strings. */
function depth(text: string): number {
  const start = text.search(/[{[]/);
  if (start === -1 || text.trimStart().startsWith('#')) return 0;
  let open = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') open++;
    else if (c === '}' || c === ']') open--;
  }
  return open;
}

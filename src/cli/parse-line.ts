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
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const [first = '', rest1 = ''] = splitWord(text);
  const [second = '', rest2 = ''] = splitWord(rest1);
  const firstIsOp = isOperation(first);
  const secondLooksLikeOp = second !== '' && !second.startsWith('{') && !second.startsWith('@');
  // `help <operation>` is the one bare word that is a parameter
  if (first === 'help' && secondLooksLikeOp && rest2.trim() === '') {
    return { operation: 'help', paramsText: JSON.stringify({ operation: second }) };
  }
  if (firstIsOp && (OPERATIONS[first].workflow === 'none' || !secondLooksLikeOp)) {
    return { operation: first, paramsText: rest1.trim() };
  }
  if (second === '' || !secondLooksLikeOp) return { operation: first, paramsText: rest1.trim() };
  return { workflowId: first, operation: second, paramsText: rest2.trim() };
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
  checkJsonTextNesting(text, 'the parameters');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TroupeError('PARSE_ERROR', 'Parameters are not valid JSON', {
      details: `${error instanceof Error ? error.message : String(error)} in: ${text}`,
    });
  }
}

/** Turns one REPL line into a command for `hub.execute`, or null for a blank line or comment. */
export async function lineToCommand(line: string, cwd?: string): Promise<Command | null> {
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

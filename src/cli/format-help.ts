import { pad, type Palette } from './format-style.js';
import { on, wrap, WIDTH, type ResultFormatter } from './format-kit.js';
import { SESSION_COMMANDS } from './session-commands.js';

interface HelpList { usage: string; operations: { operation: string; group: string; summary: string; available: boolean }[] }
interface HelpParam { name: string; type: unknown; accepts?: string; required: boolean; default?: unknown; description?: string }
interface HelpOne { operation: string; group?: string; usage: string; summary: string; available: boolean; example: string; where?: string; parameters: HelpParam[] }

/** The groups in the order a person meets them; a group the hub adds later comes after these. */
const GROUP_ORDER = ['lifecycle', 'state', 'tasks', 'agents', 'events', 'recovery', 'system'];

/** `name  text…` with the text wrapped under itself at column `at` (the name on a line of its own when longer). */
function hanging(name: string, text: string, at: number, indent = '  '): string[] {
  const lines = wrap(text, WIDTH - at);
  const first = name.length + indent.length + 1 > at ? [`${indent}${name}`, ' '.repeat(at) + lines[0]] : [pad(`${indent}${name}`, at) + lines[0]];
  return [...first, ...lines.slice(1).map((l) => ' '.repeat(at) + l)];
}

/** Every operation once, under its group, then the session's own commands. */
function helpList(p: Palette, help: HelpList): string {
  const groups = [...new Set(help.operations.map((o) => o.group))].sort((a, b) => (GROUP_ORDER.indexOf(a) + 1 || 99) - (GROUP_ORDER.indexOf(b) + 1 || 99));
  const at = Math.max(...help.operations.map((o) => o.operation.length)) + 4;
  const lines = wrap(`usage: ${help.usage}`, WIDTH).map((l, i) => (i === 0 ? l.replace(/^usage:/, p.bold('usage:')) : `       ${l}`));
  for (const group of groups) {
    lines.push('', p.bold(group));
    for (const op of help.operations.filter((o) => o.group === group)) {
      lines.push(...hanging(op.operation, op.available ? op.summary : p.dim(`${op.summary} (planned)`), at));
    }
  }
  lines.push('', `${p.bold('session')} ${p.dim('(answered by this REPL, not sent to the supervisor)')}`);
  for (const c of SESSION_COMMANDS) lines.push(...hanging(c.usage.split('  |')[0]!, c.summary, at));
  lines.push('', p.dim("'help <operation>' describes one: its parameters, their types and defaults, and an example"));
  return lines.join('\n');
}

/** One operation as documentation: what it does, its usage, each parameter with its type in words, an example. */
function helpOne(p: Palette, help: HelpOne): string {
  const lines = [`${p.bold(help.operation)}${help.group ? p.dim(`  (${help.group})`) : ''}`, ...wrap(help.summary, WIDTH - 2).map((l) => `  ${l}`)];
  if (!help.available) lines.push(p.yellow('  planned: not in this version'));
  lines.push('', p.bold('usage'), `  ${help.usage}`);
  if (help.where) lines.push(p.dim(`  typed in ${help.where}`));
  else if (help.parameters.length > 0) lines.push(p.dim('  params: a JSON object (it may span lines in the REPL), or @file with JSON or YAML'));
  if (help.parameters.length > 0) {
    const required = help.parameters.filter((x) => x.required).length;
    lines.push('', `${p.bold('parameters')}${p.dim(required === 0 ? '  (all optional)' : `  (${required} required)`)}`);
    const at = Math.min(28, Math.max(...help.parameters.map((x) => x.name.length)) + 4);
    for (const x of help.parameters) {
      const type = x.accepts ?? (typeof x.type === 'string' ? x.type : JSON.stringify(x.type));
      const extra = [x.required ? p.yellow('required') : '', x.default === undefined ? '' : `default ${JSON.stringify(x.default)}`].filter(Boolean).join(', ');
      lines.push(...hanging(x.name, `${type}${extra ? `; ${extra}` : ''}`, at));
      if (x.description) lines.push(...wrap(x.description, WIDTH - at).map((l) => ' '.repeat(at) + p.dim(l)));
    }
  }
  if (help.example) lines.push('', p.bold('example'), ...help.example.split(/\s{3}or\s{3}/).map((e) => `  ${e}`));
  return lines.join('\n');
}

export const helpFormatters: Record<string, ResultFormatter> = {
  help: on((v, r: HelpList | HelpOne) => ('operations' in r ? helpList(v.p, r) : helpOne(v.p, r))),
};

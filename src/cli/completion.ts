import type { Command, Option } from 'commander';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** Commands whose first argument is a workflow id: completed from `troupe ls --json`. */
const TAKES_WORKFLOW = new Set(['status', 'watch', 'logs', 'approve', 'reject']);

/** The flags of an option, as typed (`-f`, `--follow`). */
const flagsOf = (option: Option) => [option.short, option.long].filter((f): f is string => f !== undefined);

/** The visible commands with their option flags, and the program's own (global) ones. */
function tree(program: Command) {
  const global = program.options.flatMap(flagsOf);
  const commands = program.commands.map((c) => ({
    name: c.name(),
    summary: c.description().split(/[;(]/)[0]!.trim(),
    flags: [...c.options.flatMap(flagsOf), '--help'],
    choices: c.registeredArguments[0]?.argChoices ?? null,
  }));
  return { global, commands };
}

/** Text safe inside a single-quoted shell word. */
const quoted = (s: string) => s.replace(/'/g, "'\\''");

// the workflow ids, read by troupe itself (through the supervisor or from the data directory)
const IDS = `troupe ls --json 2>/dev/null | grep -o '"workflow_id":"[^"]*"' | cut -d'"' -f4`;

function bash(program: Command): string {
  const { global, commands } = tree(program);
  // after a command, the program's options that apply to every command (not --version)
  const local = global.filter((f) => f !== '-v' && f !== '--version');
  const cases = commands
    .map((c) => {
      const words = c.choices ? c.choices.join(' ') : `${c.flags.join(' ')} ${local.join(' ')}`;
      const ids = TAKES_WORKFLOW.has(c.name) ? `    if [[ $cur != -* && $cword -eq $((cmd_at + 1)) ]]; then COMPREPLY=( $(compgen -W "$(${IDS})" -- "$cur") ); return; fi\n` : '';
      const files = c.name === 'run' ? `    if [[ $cur != -* ]]; then COMPREPLY=( $(compgen -f -- "$cur") ); return; fi\n` : '';
      return `  ${c.name})\n${ids}${files}    COMPREPLY=( $(compgen -W "${words}" -- "$cur") ) ;;`;
    })
    .join('\n');
  return `# bash completion for troupe: eval "$(troupe completion bash)" (or put that line in ~/.bashrc)
_troupe() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cword=$COMP_CWORD
  case $prev in
    --data-dir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;
    --config) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  local cmd="" cmd_at=0 i
  for (( i = 1; i < COMP_CWORD; i++ )); do
    case \${COMP_WORDS[i]} in
      --data-dir|--config) (( i++ )) ;;
      -*) ;;
      *) cmd=\${COMP_WORDS[i]}; cmd_at=$i; break ;;
    esac
  done
  case $cmd in
  "") COMPREPLY=( $(compgen -W "${commands.map((c) => c.name).join(' ')} help ${global.join(' ')}" -- "$cur") ) ;;
  help) COMPREPLY=( $(compgen -W "${commands.map((c) => c.name).join(' ')}" -- "$cur") ) ;;
${cases}
  esac
}
complete -F _troupe troupe
`;
}

function zsh(program: Command): string {
  const { global, commands } = tree(program);
  const described = commands.map((c) => `    '${c.name}:${quoted(c.summary.replace(/:/g, '\\:'))}'`).join('\n');
  const cases = commands
    .map((c) => {
      const rest = c.choices ? `'1:${c.name === 'completion' ? 'shell' : 'value'}:(${c.choices.join(' ')})'` : TAKES_WORKFLOW.has(c.name) ? "'1:workflow:_troupe_workflows' '*::'" : c.name === 'run' ? "'1:file:_files'" : "'*::'";
      return `    ${c.name}) _arguments ${c.flags.map((f) => `'${f}'`).join(' ')} ${global.map((f) => `'${f}'`).join(' ')} ${rest} ;;`;
    })
    .join('\n');
  return `#compdef troupe
# zsh completion for troupe: eval "$(troupe completion zsh)" (or put that line in ~/.zshrc, after compinit)
_troupe_workflows() {
  local -a ids
  ids=( \${(f)"$(${IDS})"} )
  _describe 'workflow' ids
}
_troupe() {
  local -a commands
  commands=(
${described}
  )
  local i cmd_at=0
  for (( i = 2; i < CURRENT; i++ )); do
    case \${words[i]} in
      --data-dir|--config) (( i++ )) ;;
      -*) ;;
      *) cmd_at=$i; break ;;
    esac
  done
  if (( cmd_at == 0 )); then
    _arguments '--data-dir[data directory]:dir:_files -/' '--config[configuration file]:file:_files' '--json' '--no-color' '1:command:->cmd' && return
    _describe 'command' commands
    return
  fi
  shift $(( cmd_at - 1 )) words
  (( CURRENT -= cmd_at - 1 ))
  case \${words[1]} in
${cases}
  esac
}
if [[ $funcstack[1] == _troupe ]]; then _troupe "$@"; else compdef _troupe troupe; fi
`;
}

/**
 * The completion script for `shell`, generated from the program's own
 * commands and options (so it cannot drift from them): command names,
 * each command's options, files for `run`, and workflow ids (asked of
 * `troupe ls --json`) for the commands that take one.
 */
export function completionScript(program: Command, shell: Shell): string {
  return shell === 'bash' ? bash(program) : zsh(program);
}

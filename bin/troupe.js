#!/usr/bin/env node
// The `troupe` command. Plain JavaScript that any Node can parse, so an old
// Node gets a clear message instead of a syntax error. On a fresh clone it
// installs the dependencies and builds once, then runs the built CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installIfMissing } from './install-deps.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const wanted = pkg.engines.node.replace(/^>=\s*/, '').split('.').map(Number);
const have = process.versions.node.split('.').map(Number);
const older = wanted.findIndex((part, i) => (have[i] ?? 0) !== part);
if (older !== -1 && (have[older] ?? 0) < wanted[older]) {
  process.stderr.write(
    `troupe needs Node ${pkg.engines.node}, but this is Node ${process.versions.node}.\n` +
      'Install a newer Node (https://nodejs.org or your version manager, e.g. `nvm install 20`) and run it again.\n',
  );
  process.exit(2);
}

const step = (what, command, args) => {
  process.stderr.write(`troupe: ${what}…\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write(`troupe: \`${command} ${args.join(' ')}\` failed; fix the error above and run again.\n`);
    process.exit(2);
  }
};

const newest = (dir) => {
  let latest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    latest = Math.max(latest, name.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
};

const fromSource = existsSync(join(root, 'src'));
if (fromSource) installIfMissing(root);
const entry = join(root, 'dist', 'cli', 'main.js');
if (fromSource && (!existsSync(entry) || newest(join(root, 'src')) > statSync(entry).mtimeMs)) {
  step('building', 'npm', ['run', '--silent', 'build']);
}

const { main } = await import(pathToFileURL(entry).href);
// main() has shut the hub down by now: exit even if a library left a handle open
process.exit(await main(process.argv.slice(2)));

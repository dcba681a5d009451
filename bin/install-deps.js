// Installs the dependencies of a fresh clone, once: `npm start` (bin/troupe.js)
// and `npm test` (its pretest) both begin here, so either command alone works
// on a machine where nothing was installed yet. Plain JavaScript: it runs
// before TypeScript or any dependency is there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Runs `npm ci` (or `npm install` without a lock file) in `root` unless `marker` (a package every command needs) is installed. */
export function installIfMissing(root, marker) {
  if (existsSync(join(root, 'node_modules', marker))) return;
  const args = existsSync(join(root, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install'];
  process.stderr.write('troupe: installing dependencies…\n');
  const result = spawnSync('npm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write(`troupe: \`npm ${args.join(' ')}\` failed; fix the error above and run again.\n`);
    process.exit(2);
  }
}

// `node bin/install-deps.js` (the pretest): the tests need vitest too
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  installIfMissing(join(dirname(fileURLToPath(import.meta.url)), '..'), 'vitest');
}

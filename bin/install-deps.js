// Installs the dependencies of a fresh clone, or of a checkout whose
// package.json gained one since the last install: `npm start` (bin/troupe.js)
// and `npm test` (its pretest) both begin here, so either command alone works
// on a machine where nothing (or not everything) was installed yet. Plain
// JavaScript: it runs before TypeScript or any dependency is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The packages of package.json's `dependencies` (and `devDependencies` when `dev`) that node_modules lacks. */
function missing(root, dev) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const names = Object.keys({ ...pkg.dependencies, ...(dev ? pkg.devDependencies : {}) });
  return names.filter((name) => !existsSync(join(root, 'node_modules', name, 'package.json')));
}

/**
 * Runs `npm ci` (or `npm install` without a lock file) in `root` unless every
 * dependency is installed (with `dev`, the devDependencies too: the tests need them).
 */
export function installIfMissing(root, dev = false) {
  const lacking = missing(root, dev);
  if (lacking.length === 0) return;
  const args = existsSync(join(root, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install'];
  const fresh = !existsSync(join(root, 'node_modules'));
  process.stderr.write(`troupe: installing dependencies${fresh ? '' : ` (missing: ${lacking.slice(0, 5).join(', ')}${lacking.length > 5 ? ', …' : ''})`}…\n`);
  const result = spawnSync('npm', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    process.stderr.write(`troupe: \`npm ${args.join(' ')}\` failed; fix the error above and run again.\n`);
    process.exit(2);
  }
}

// `node bin/install-deps.js` (the pretest): the tests need the devDependencies too
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  installIfMissing(join(dirname(fileURLToPath(import.meta.url)), '..'), true);
}

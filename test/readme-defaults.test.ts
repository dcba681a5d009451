import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/index.js';

describe('the README', () => {
  it('lists exactly the defaults the code uses', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('## Configuration and defaults')[1]!.split('\n## ')[0]!;
    const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (.+?) \|$/gm)].map(([, key, value]) => [key, value]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(DEFAULTS).map(([k, v]) => [k, String(v)])));
  });

  it('shows the two commands that start the supervisor and run the tests', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)])));
  return nested.flat().filter((f) => f.endsWith('.ts'));
}

/** file (relative to src) -> the specifiers it imports */
async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const file of await sources(SRC)) {
    const text = await readFile(file, 'utf8');
    const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
    graph.set(relative(SRC, file), specs);
  }
  return graph;
}

const layer = (file: string) => file.split('/')[0]!;
const localTarget = (file: string, spec: string) => relative(SRC, resolve(dirname(join(SRC, file)), spec)).replace(/\.js$/, '.ts');

describe('the folder layout is the architecture', () => {
  it('machines import only xstate and each other', async () => {
    for (const [file, specs] of await importGraph()) {
      if (layer(file) !== 'machines') continue;
      for (const spec of specs) expect([file, spec.startsWith('./') || spec === 'xstate']).toEqual([file, true]);
    }
  });

  it('imports flow cli -> runtime -> actors -> machines; nothing imports cli/ or worker/', async () => {
    const allowed: Record<string, string[]> = {
      machines: ['machines'],
      actors: ['actors', 'machines'],
      persistence: ['persistence'],
      runtime: ['runtime', 'actors', 'machines', 'persistence'],
      cli: ['cli', 'index.ts'],
      worker: ['worker', 'actors', 'machines'],
      'index.ts': ['runtime', 'actors', 'machines', 'persistence'],
    };
    for (const [file, specs] of await importGraph()) {
      for (const spec of specs.filter((s) => s.startsWith('.'))) {
        const target = layer(localTarget(file, spec));
        expect({ file, spec, ok: allowed[layer(file)]!.includes(target) }).toEqual({ file, spec, ok: true });
      }
    }
  });

  it('has no import cycle', async () => {
    const graph = await importGraph();
    const edges = new Map([...graph].map(([file, specs]) => [file, specs.filter((s) => s.startsWith('.')).map((s) => localTarget(file, s))]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[][] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') return void cycles.push([...path.slice(path.indexOf(file)), file]);
      state.set(file, 'visiting');
      for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of edges.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

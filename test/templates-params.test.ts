/**
 * Templates and params (DESIGN §12) on a real hub: templates read from a real
 * templates_dir (a temporary folder) and from the shipped ones; params
 * checked (each refusal coded and naming the param), placed at create in
 * every string, kept for run time where a string also reads tasks; and
 * `list-templates`, which lists a broken file with its error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/config-file.js';
import { BUILTIN_TEMPLATES_DIR, createHub, MAX_TEMPLATE_FILE_BYTES, resolveDefinition, type Hub } from '../src/index.js';
import { eachTestOwnHub, fails, ok, statusOf, taskOf, waitFor } from './hub-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'troupe-templates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const templates = join(dir, 'templates');
mkdirSync(templates);
const write = (name: string, text: string) => writeFileSync(join(templates, name), text);

// a template with a required param, used in a name, a duration, a retry count and a command
write(
  'deploy.yaml',
  `name: "deploy \${{ params.env }}"
description: Deploys one service
params:
  env: {type: string, description: where to}
  retries: {type: number, default: 2}
  timeout: {type: string, default: 30s}
  verbose: {type: boolean, default: false}
phases:
  - name: "ship-\${{ params.env }}"
    tasks:
      - id: ship
        handler: exec
        retries: "\${{ params.retries }}"
        timeout: "\${{ params.timeout }}"
        input: {command: "echo shipping to $ENV", env: {ENV: "\${{ params.env }}"}}
`,
);
const echo = (id: string, value: string) => ({ id, handler: 'echo', input: { value } });
write('counts.json', JSON.stringify({ name: 'counts', params: { n: { type: 'number', default: 3 } }, phases: [{ name: 'p', tasks: [echo('a', '${{ params.n }}'), echo('b', 'n=${{ params.n }}')] }] }));
write('broken.yaml', 'name: [unclosed\nphases: {');
write('bad-type.yaml', 'name: x\nparams: {when: {type: date}}\nphases: [p]\n');
write('bad-name.yaml', 'name: x\nparams: {in: {type: string}}\nphases: [p]\n');
write('bad-default.yaml', 'name: x\nparams: {n: {type: number, default: "3"}}\nphases: [p]\n');
write('huge.yaml', `name: huge\ndescription: "${'x'.repeat(MAX_TEMPLATE_FILE_BYTES)}"\nphases: [p]\n`);
write('undeclared.yaml', 'name: "x ${{ params.nope }}"\nphases: [p]\n');
write('reads-tasks.yaml', 'name: x\nphases:\n  - name: p\n    tasks:\n      - {id: a, handler: noop, timeout: "${{ tasks.b.output }}"}\n');
// the user's own bug-fix replaces the shipped one
write('bug-fix.yaml', 'name: my bug fix\nparams: {ticket: {type: string, default: T-1}}\nphases: [p]\n');
write('notes.txt', 'not a template');

let hub: Hub;
eachTestOwnHub((made) => ({ hub } = made), { templatesDir: templates });

let seq = 0;

describe('create {"template", "params"} refuses, with a code, naming what is wrong', () => {
  const rows: { name: string; parameters: unknown; code: string; says: string[] }[] = [
    { name: 'an unknown template', parameters: { template: 'nope' }, code: 'TEMPLATE_NOT_FOUND', says: ['Template nope does not exist', 'Available templates:', 'deploy', 'data-pipeline'] },
    { name: 'a template name with ../', parameters: { template: '../templates/deploy' }, code: 'INVALID_ID', says: ['"../templates/deploy"', 'holds "/"'] },
    { name: 'a template name that is a path', parameters: { template: '/etc/passwd' }, code: 'INVALID_ID', says: ['/etc/passwd'] },
    { name: 'a missing required param', parameters: { template: 'deploy' }, code: 'INVALID_PARAMS', says: ['param env is required', 'where to'] },
    { name: 'an unknown param', parameters: { template: 'deploy', params: { env: 'prod', region: 'eu' } }, code: 'INVALID_PARAMS', says: ['unknown param region', 'env, retries, timeout, verbose'] },
    { name: 'a mistyped param (text for a number)', parameters: { template: 'deploy', params: { env: 'prod', retries: '3' } }, code: 'INVALID_PARAMS', says: ['param retries must be a number, got string "3"'] },
    { name: 'a mistyped param (a number for a boolean)', parameters: { template: 'deploy', params: { env: 'prod', verbose: 1 } }, code: 'INVALID_PARAMS', says: ['param verbose must be a boolean'] },
    { name: 'a param value holding ${{', parameters: { template: 'deploy', params: { env: '${{ tasks.x.output }}' } }, code: 'INVALID_PARAMS', says: ['param env holds "${{"'] },
    { name: 'a bad type declaration', parameters: { template: 'bad-type' }, code: 'INVALID_PARAMS', says: ['template bad-type', 'declare when wrongly', 'type must be one of string, number, boolean'] },
    { name: 'a param named by a reserved word', parameters: { template: 'bad-name' }, code: 'INVALID_PARAMS', says: ['template bad-name', '"in"', 'reserved word'] },
    { name: 'a default of the wrong type', parameters: { template: 'bad-default' }, code: 'INVALID_PARAMS', says: ['declare n wrongly'] },
    { name: 'a template that does not parse', parameters: { template: 'broken' }, code: 'PARSE_ERROR', says: ['broken.yaml', 'not valid YAML'] },
    { name: 'a template file over the size bound', parameters: { template: 'huge' }, code: 'FILE_TOO_LARGE', says: ['huge.yaml', `${MAX_TEMPLATE_FILE_BYTES} bytes`] },
    { name: 'a param it does not declare', parameters: { template: 'undeclared' }, code: 'INVALID_REFERENCE', says: ['Template undeclared', 'name', 'params.nope', 'does not declare'] },
    { name: 'tasks read where only params can be', parameters: { template: 'reads-tasks' }, code: 'INVALID_REFERENCE', says: ['Task a: timeout', 'reads tasks'] },
    { name: 'params with a template, not an object', parameters: { template: 'deploy', params: ['prod'] }, code: 'VALIDATION_FAILED', says: ['Invalid parameters for create'] },
    {
      name: 'a syntax error outside a task input',
      parameters: { name: 'w ${{ params.n + }}', params: { n: { type: 'number', default: 1 } }, phases: ['p'] },
      code: 'INVALID_EXPRESSION',
      says: ['name has a syntax error at position', '^'],
    },
    {
      name: 'values that put text together into a ${{',
      parameters: { definition: { name: 'w', params: { d: { type: 'string', default: '' } }, phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: '${{ params.d }}{{ tasks.a.output }}' } }] }] }, params: { d: '$' } },
      code: 'INVALID_PARAMS',
      says: ['Task a: input.value', 'would be read as an expression'],
    },
    {
      name: 'params given to a definition that declares none',
      parameters: { definition: { name: 'plain', phases: ['p'] }, params: { env: 'prod' } },
      code: 'INVALID_PARAMS',
      says: ['unknown param env', 'declares no params'],
    },
    {
      name: 'a mistyped param of a plain definition',
      parameters: { definition: { name: 'plain', params: { n: { type: 'number', default: 1 } }, phases: ['p'] }, params: { n: true } },
      code: 'INVALID_PARAMS',
      says: ['param n must be a number, got boolean true'],
    },
  ];

  it.each(rows)('$name -> $code', async ({ parameters, code, says }) => {
    const id = `refused_${++seq}`;
    const { error, recovery_suggestions } = await fails(hub, { operation: 'create', workflow_id: id, parameters });
    expect(error.code).toBe(code);
    for (const text of says) expect(`${error.message}\n${error.details}`).toContain(text);
    expect(recovery_suggestions.length).toBeGreaterThan(0);
    expect(hub.workflowIds()).not.toContain(id);
  });

  it('lists every problem of the params at once', async () => {
    const { error } = await fails(hub, { operation: 'create', workflow_id: 'many', parameters: { template: 'deploy', params: { retries: 'x', zone: 1 } } });
    expect(error.message).toBe('Template deploy: 3 problems with the params: param retries must be a number, got string "x"; unknown param zone (it declares env, retries, timeout, verbose); param env is required (a string, no default) — where to');
    expect(error.details).toBe('Declared: env: string (required), retries: number = 2, timeout: string = "30s", verbose: boolean = false');
  });
});

describe('params are placed at create, in every string', () => {
  it('a whole ${{ }} keeps its type; names, durations, retries and commands take params; defaults fill the rest', async () => {
    const created = await ok(hub, { operation: 'create', workflow_id: 'deploy_1', parameters: { template: 'deploy', params: { env: 'prod', retries: 4 } } });
    expect(created.result).toMatchObject({
      name: 'deploy prod',
      phases: [{ name: 'ship-prod', tasks: 1 }],
      template: { name: 'deploy', source: 'templates_dir', path: join(templates, 'deploy.yaml') },
      params: { env: 'prod', retries: 4, timeout: '30s', verbose: false },
    });
    await ok(hub, { operation: 'start', workflow_id: 'deploy_1' });
    expect((await waitFor(hub, 'deploy_1')).status).toBe('completed');
    const state = await statusOf(hub, 'deploy_1');
    expect(taskOf(state, 'ship').output).toMatchObject({ exit_code: 0, stdout: 'shipping to prod\n' });
    expect(state.configuration.params).toEqual({ env: 'prod', retries: 4, timeout: '30s', verbose: false });
  });

  it('durations and counts become numbers the schema reads (resolveDefinition)', async () => {
    const spec = resolveDefinition(
      {
        name: 'w',
        timeout: '${{ params.total }}',
        params: { total: { type: 'number', default: 90_000 }, step: { type: 'string', default: '45s' }, n: { type: 'number', default: 3 } },
        phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'noop', timeout: '${{ params.step }}', retries: '${{ params.n }}' }] }],
      },
      new Map(),
      { n: 5 },
    );
    expect(spec).toMatchObject({ timeoutMs: 90_000, params: { total: 90_000, step: '45s', n: 5 } });
    expect(spec.phases[0]!.tasks[0]).toMatchObject({ timeoutMs: 45_000, retries: 5 });
  });

  it('a JSON template: the whole ${{ }} gives a number, text around it gives text', async () => {
    await ok(hub, { operation: 'create', workflow_id: 'counts_1', parameters: { template: 'counts', params: { n: 7 } } });
    await ok(hub, { operation: 'start', workflow_id: 'counts_1' });
    await waitFor(hub, 'counts_1');
    const state = await statusOf(hub, 'counts_1');
    expect([taskOf(state, 'a').output, taskOf(state, 'b').output]).toEqual([7, 'n=7']);
  });

  it('a string that mixes params and tasks is rendered when the task runs, with the params given; when reads params too', async () => {
    const definition = {
      name: 'mixed',
      params: { env: { type: 'string', default: 'dev' }, fast: { type: 'boolean', default: false } },
      phases: [
        {
          name: 'p',
          tasks: [
            { id: 'a', handler: 'echo', input: { value: { n: 1 } } },
            { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: '${{ params.env }}-${{ tasks.a.output.n }}' } },
            { id: 'c', handler: 'noop', depends_on: ['a'], when: 'params.fast' },
            { id: 'd', handler: 'echo', depends_on: ['a'], when: '${{ !params.fast && tasks.a.status == "completed" }}', input: { value: '${{ params.fast }}' } },
          ],
        },
      ],
    };
    await ok(hub, { operation: 'create', workflow_id: 'mixed_1', parameters: { definition, params: { env: 'prod' } } });
    await ok(hub, { operation: 'start', workflow_id: 'mixed_1' });
    expect((await waitFor(hub, 'mixed_1')).status).toBe('completed');
    const state = await statusOf(hub, 'mixed_1');
    expect(taskOf(state, 'b').output).toBe('prod-1');
    expect(taskOf(state, 'c')).toMatchObject({ status: 'skipped', reason: 'condition' });
    expect(taskOf(state, 'd').output).toBe(false);
  });

  it("an input that reads only params is rendered at create, so its handler's input is checked then", async () => {
    const definition = { name: 'nap', params: { ms: { type: 'string', default: '10' } }, phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'sleep', input: { ms: '${{ params.ms }}' } }] }] };
    const { error } = await fails(hub, { operation: 'create', workflow_id: 'nap_1', parameters: definition });
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Task a (phases[0].tasks[0]) has an invalid input for handler sleep' });
    expect(error.details).toContain('→ at ms');
  });

  it('a plain definition with params runs on its defaults', async () => {
    const definition = { name: 'n=${{ params.n }}', params: { n: { type: 'number', default: 2 } }, phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: '${{ params.n * 10 }}' } }] }] };
    const created = await ok(hub, { operation: 'create', workflow_id: 'plain_1', parameters: definition });
    expect(created.result).toMatchObject({ name: 'n=2', params: { n: 2 } });
    expect(created.result).not.toHaveProperty('template');
    await ok(hub, { operation: 'start', workflow_id: 'plain_1' });
    await waitFor(hub, 'plain_1');
    expect(taskOf(await statusOf(hub, 'plain_1'), 'a').output).toBe(20);
  });
});

describe('list-templates', () => {
  it('lists the shipped templates and the templates_dir, a broken file with its error, a replaced one as shadowed', async () => {
    const { result } = await ok(hub, { operation: 'list-templates' });
    const { templates: listed, sources } = result as { templates: Record<string, any>[]; sources: Record<string, unknown>[] };
    expect(sources).toEqual([
      { source: 'templates_dir', path: templates, templates: 10 },
      { source: 'builtin', path: BUILTIN_TEMPLATES_DIR, templates: 4 },
    ]);
    const byName = (name: string, source = 'templates_dir') => listed.find((t) => t.name === name && t.source === source)!;
    expect(byName('deploy')).toEqual({
      name: 'deploy',
      source: 'templates_dir',
      path: join(templates, 'deploy.yaml'),
      workflow_name: 'deploy ${{ params.env }}',
      description: 'Deploys one service',
      params: [
        { name: 'env', type: 'string', required: true, description: 'where to' },
        { name: 'retries', type: 'number', required: false, default: 2 },
        { name: 'timeout', type: 'string', required: false, default: '30s' },
        { name: 'verbose', type: 'boolean', required: false, default: false },
      ],
    });
    expect(byName('broken').error).toMatchObject({ code: 'PARSE_ERROR', message: expect.stringContaining('broken.yaml') });
    expect(byName('bad-type').error).toMatchObject({ code: 'INVALID_PARAMS' });
    expect(byName('huge').error).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(byName('bug-fix', 'builtin').shadowed_by).toBe(join(templates, 'bug-fix.yaml'));
    expect(listed.filter((t) => t.source === 'builtin').map((t) => t.name).sort()).toEqual(['bug-fix', 'data-pipeline', 'full-application', 'refactor-migration']);
    expect(listed.some((t) => t.name === 'notes')).toBe(false);
    // the templates_dir's bug-fix is the one create uses
    expect((await ok(hub, { operation: 'create', workflow_id: 'mine', parameters: { template: 'bug-fix' } })).result).toMatchObject({ name: 'my bug fix', params: { ticket: 'T-1' } });
  });

  it('name picks one template', async () => {
    const { result } = await ok(hub, { operation: 'list-templates', parameters: { name: 'counts' } });
    expect((result as { templates: { name: string }[] }).templates.map((t) => t.name)).toEqual(['counts']);
  });

  it('templates_dir from a config file is relative to it; without one, templates/ beside it, or in the cwd, when it exists', async () => {
    const configDir = join(dir, 'conf');
    mkdirSync(join(configDir, 'mine'), { recursive: true });
    writeFileSync(join(configDir, 'mine', 'solo.yaml'), 'name: solo\nparams: {who: {type: string, default: me}}\nphases: [p]\n');
    writeFileSync(join(configDir, 'named.yaml'), 'templates_dir: mine\n');
    writeFileSync(join(configDir, 'plain.yaml'), 'max_threads: 1\n');
    expect((await loadConfig(join(configDir, 'named.yaml'))).hub.templatesDir).toBe(resolve(configDir, 'mine'));
    expect((await loadConfig(join(configDir, 'plain.yaml'))).hub.templatesDir).toBeUndefined();
    mkdirSync(join(configDir, 'templates'));
    expect((await loadConfig(join(configDir, 'plain.yaml'))).hub.templatesDir).toBe(join(configDir, 'templates'));
    expect((await loadConfig(null, configDir)).hub.templatesDir).toBe(join(configDir, 'templates'));
    expect((await loadConfig(null, join(configDir, 'mine'))).hub.templatesDir).toBeUndefined();

    const configured = createHub({ maxThreads: 1, ...(await loadConfig(join(configDir, 'named.yaml'))).hub });
    try {
      const { result } = await ok(configured, { operation: 'list-templates' });
      expect((result as { templates: { name: string; source: string }[] }).templates.filter((t) => t.source === 'templates_dir')).toMatchObject([{ name: 'solo', params: [{ name: 'who', default: 'me' }] }]);
    } finally {
      await configured.close({ graceMs: 0 });
    }
  });

  it('a templates_dir that is missing is reported, and the shipped templates still work', async () => {
    const lost = createHub({ maxThreads: 1, templatesDir: join(dir, 'nowhere') });
    try {
      const { result } = await ok(lost, { operation: 'list-templates' });
      expect((result as { sources: unknown[] }).sources[0]).toEqual({ source: 'templates_dir', path: join(dir, 'nowhere'), templates: 0, error: 'the folder does not exist' });
      await ok(lost, { operation: 'create', workflow_id: 'shipped', parameters: { template: 'data-pipeline' } });
    } finally {
      await lost.close({ graceMs: 0 });
    }
  });
});

describe('the shipped templates', () => {
  it('each declares two or more params, every one with a default and a description', async () => {
    const { result } = await ok(hub, { operation: 'list-templates' });
    const shipped = (result as { templates: { source: string; error?: unknown; params: { default?: unknown; description?: string }[] }[] }).templates.filter((t) => t.source === 'builtin');
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    for (const template of shipped) {
      expect(template.error).toBeUndefined();
      expect(template.params.length).toBeGreaterThanOrEqual(2);
      for (const param of template.params) expect(param).toMatchObject({ default: expect.anything(), description: expect.any(String) });
    }
  });
});

/** A hub that sees only the shipped templates, on the wall clock: they run as they would for a user. */
describe('every shipped template runs to completed on its defaults', () => {
  it('runs each one', async () => {
    const plain = createHub({ maxThreads: 2 });
    try {
      const { result } = await ok(plain, { operation: 'list-templates' });
      const names = (result as { templates: { name: string }[] }).templates.map((t) => t.name);
      expect(names).toEqual(['bug-fix', 'data-pipeline', 'full-application', 'refactor-migration']);
      await Promise.all(names.map((name) => ok(plain, { operation: 'create', workflow_id: name, parameters: { template: name } })));
      await Promise.all(names.map((name) => ok(plain, { operation: 'start', workflow_id: name })));
      for (const name of names) expect([name, (await waitFor(plain, name)).status]).toEqual([name, 'completed']);
      const pipeline = await statusOf(plain, 'data-pipeline');
      expect(taskOf(pipeline, 'report').output).toEqual({ dataset: 'sales', rows: 100, loaded: true });
    } finally {
      await plain.close({ graceMs: 0 });
    }
  }, 120_000);
});

describe('a templated workflow keeps its params', () => {
  it('through save-state and load-state into another data directory, where the run-time string still reads them', async () => {
    const hubs: Hub[] = [];
    const open = async (name: string) => {
      const opened = createHub({ maxThreads: 1, dataDir: join(dir, name), templatesDir: templates });
      hubs.push(opened);
      await opened.ready;
      return opened;
    };
    try {
      const a = await open('bundle-a');
      const definition = {
        name: 'carry',
        params: { env: { type: 'string', default: 'dev' } },
        phases: [{ name: 'p', tasks: [{ id: 'a', handler: 'echo', input: { value: 1 } }, { id: 'b', handler: 'echo', depends_on: ['a'], input: { value: '${{ params.env }}/${{ tasks.a.output }}' } }] }],
      };
      await ok(a, { operation: 'create', workflow_id: 'carry', parameters: { definition, params: { env: 'prod' } } });
      const path = join(dir, 'carry.troupe');
      await ok(a, { operation: 'save-state', workflow_id: 'carry', parameters: { path } });
      const b = await open('bundle-b');
      await ok(b, { operation: 'load-state', parameters: { path } });
      await ok(b, { operation: 'start', workflow_id: 'carry' });
      expect((await waitFor(b, 'carry')).status).toBe('completed');
      expect(taskOf(await statusOf(b, 'carry'), 'b').output).toBe('prod/1');
    } finally {
      for (const opened of hubs) await opened.close({ graceMs: 0 });
    }
  });
});

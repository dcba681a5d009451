import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineAssembler, lineToCommand, splitLine } from '../src/cli/parse-line.js';
import { jsonLines, runCli, scratchDir } from './helpers/cli.js';

describe('the REPL grammar', () => {
  it.each([
    ['wf_1 start', { workflowId: 'wf_1', operation: 'start', paramsText: '' }],
    ['wf_1 wait {"timeout":"5s"}', { workflowId: 'wf_1', operation: 'wait', paramsText: '{"timeout":"5s"}' }],
    ['wf_1 create @examples/hello.yaml', { workflowId: 'wf_1', operation: 'create', paramsText: '@examples/hello.yaml' }],
    ['list-workflows {"status":"running"}', { operation: 'list-workflows', paramsText: '{"status":"running"}' }],
    ['help create', { operation: 'help', paramsText: '{"operation":"create"}' }],
    ['health', { operation: 'health', paramsText: '' }],
    ['start {"x":1}', { operation: 'start', paramsText: '{"x":1}' }],
  ])('%s', (line, expected) => {
    expect(splitLine(line)).toEqual(expected);
  });

  it.each([
    [`/coordination-hub workflow_123 get-status '{"recent_events": 10}'`, { workflowId: 'workflow_123', operation: 'get-status', paramsText: '{"recent_events": 10}' }],
    [`coordination-hub workflow_123 cleanup '{\n  "archive_state": true\n}'`, { workflowId: 'workflow_123', operation: 'cleanup', paramsText: '{\n  "archive_state": true\n}' }],
    [`wf_1 publish-event '{"data":{"note":"it's"}}'`, { workflowId: 'wf_1', operation: 'publish-event', paramsText: `{"data":{"note":"it's"}}` }],
  ])('a line copied from the spec, shell quotes and all: %s', (line, expected) => {
    expect(splitLine(line)).toEqual(expected);
  });

  it("a JSON request in the spec's own form is a command", async () => {
    const request = { workflow_id: 'workflow_123', operation: 'start', parameters: { resume_from_phase: 2 } };
    expect(await lineToCommand(JSON.stringify(request))).toEqual(request);
    await expect(lineToCommand('{"workflow_id":"wf_1"}')).rejects.toMatchObject({ code: 'PARSE_ERROR', message: expect.stringContaining('needs an "operation"') });
    await expect(lineToCommand('{"operation":')).rejects.toMatchObject({ code: 'PARSE_ERROR', message: 'The request is not valid JSON' });
  });

  it('skips blank lines and comments', () => {
    expect(splitLine('   ')).toBeNull();
    expect(splitLine('# a comment')).toBeNull();
  });
});

describe('multi-line JSON', () => {
  it('joins lines until braces and brackets balance, ignoring those inside strings', () => {
    const a = new LineAssembler();
    expect(a.push('wf create {"name": "a { b",')).toBeNull();
    expect(a.pending).toBe(true);
    expect(a.push('"phases": [')).toBeNull();
    expect(a.push('"p"]}')).toBe('wf create {"name": "a { b",\n"phases": [\n"p"]}');
    expect(a.pending).toBe(false);
    expect(a.push('wf start')).toBe('wf start');
  });

  it('any JSON object split at any newline is put back together whole', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const text = `wf_1 create ${JSON.stringify(value, null, 2)}`;
        const a = new LineAssembler();
        const lines = text.split('\n');
        const results = lines.map((l) => a.push(l));
        expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
        expect(results.at(-1)).toBe(text);
      }),
    );
  });

  it('script mode stays one line per command: an unclosed brace is an error, and the next line is still answered', async () => {
    const { dir, cleanup } = await scratchDir();
    try {
      const result = await runCli(['--data-dir', dir], { stdin: 'wf_m create {\nlist-workflows\n' });
      expect(jsonLines(result.stdout).map((r) => r.error?.code ?? r.status)).toEqual(['PARSE_ERROR', 'success']);
    } finally {
      await cleanup();
    }
  });
});

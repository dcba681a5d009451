import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scratchDir } from './helpers/cli.js';
import { repl } from './helpers/pty.js';

describe('the interactive REPL in a terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await scratchDir()));
  afterEach(() => cleanup());

  it('answers in human form, completes ids with Tab, takes multi-line JSON, keeps history, and leaves on Ctrl-C twice', async () => {
    const r = repl(join(dir, 'data'));
    try {
      await r.until('troupe> ');
      r.type('help start\r');
      await r.until('agent_pool_size');
      r.type('wf_1 create @examples/hello.yaml\r');
      await r.until('✓ create wf_1');
      r.type('wf_');
      await r.until('troupe> wf_', 2);
      // a Tab in the same chunk as other keys is taken as pasted text: send it on its own
      r.type('\t');
      await r.until('troupe> wf_1', 2);
      r.type(' start\r');
      await r.until('created → ▶ running');
      r.type('wf_2 create {\r');
      await r.until('...> ');
      r.type('"name": "two", "phases": ["p"]}\r');
      await r.until('✓ create wf_2');
      r.type('wf_1 get-status\r');
      // the tree (the create's answer names the workflow too)
      await r.until('└─ greet');
      r.type('\u0003');
      await r.until('press Ctrl-C again');
      r.type('\u0003');
      expect(await r.exited).toBe(0);
    } finally {
      r.kill();
    }
    const history = await readFile(join(dir, 'data', 'repl_history'), 'utf8');
    expect(history).toContain('wf_1 create @examples/hello.yaml');
    // what was typed may hold secrets: the history is private like the rest of the data directory
    expect((await stat(join(dir, 'data', 'repl_history'))).mode & 0o777).toBe(0o600);
  });

  it('says above the prompt when an approval is requested, and lists those that already wait when it starts', async () => {
    const dataDir = join(dir, 'data');
    const r = repl(dataDir);
    try {
      await r.until('troupe> ');
      r.type('wf_a create {"name":"gate","phases":[{"name":"p","tasks":[{"id":"ok","handler":"approval","input":{"prompt":"Ship it?"}}]}]}\r');
      await r.until('✓ create wf_a');
      r.type('wf_a start\r');
      await r.until('⌛ wf_a/ok waits for approval: Ship it?');
      expect(r.output()).toContain('wf_a approve {"task_id":"ok","by":"<you>"}');
      r.type('quit\r');
      await r.exited;
    } finally {
      r.kill();
    }
    // a new session shows what still waits, before anything is typed
    const again = repl(dataDir);
    try {
      await again.until('⌛ wf_a/ok waits for approval: Ship it?');
      again.type('wf_a approve {"task_id":"ok","by":"me"}\r');
      await again.until('✓ approve wf_a');
      again.type('quit\r');
      await again.exited;
    } finally {
      again.kill();
    }
  });
});

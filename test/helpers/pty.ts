import { spawn } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

/** The text without its escape sequences (colours, cursor moves). */
// eslint-disable-next-line no-control-regex
export const plain = (text: string) => text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

/** The REPL in a real pseudo-terminal (util-linux `script`), typed into key by key. */
export function repl(dataDir: string) {
  const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} --data-dir ${dataDir}`, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    exited,
    type: (keys: string) => child.stdin.write(keys),
    output: () => plain(output),
    /** resolves once the screen shows `text` `times` times in all */
    async until(text: string, times = 1, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (plain(output).split(text).length - 1 < times) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(text)} ×${times} in:\n${plain(output)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill: () => child.kill('SIGKILL'),
  };
}

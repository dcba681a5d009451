import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * Who a process is, beyond its pid: pids are reused, so a lock names its
 * holder by pid *and* start time, on a host, in a boot of its kernel, in a
 * pid namespace. On a system without `/proc` the Linux-only fields are null
 * and only the pid is probed.
 */
export interface ProcessIdentity {
  pid: number;
  hostname: string;
  /** `/proc/sys/kernel/random/boot_id`: changes at every boot */
  boot_id: string | null;
  /** `/proc/self/ns/pid`, e.g. `pid:[4026531836]`: a pid means something only in its namespace */
  pid_ns: string | null;
  /** field 22 of `/proc/<pid>/stat`: clock ticks from boot to the process start */
  start_ticks: number | null;
}

/** What `/proc/<pid>/stat` says of a process, or null when there is no such process. */
export interface ProcStat {
  /** R, S, D, Z (zombie), T... */
  state: string;
  start_ticks: number;
}

/** Reads `/proc/<pid>/stat`; null when the process does not exist (or there is no /proc). */
export async function procStat(pid: number): Promise<ProcStat | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (text === null) return null;
  // the command name is in parentheses and may hold spaces and parentheses: fields follow the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19]
  const startTicks = Number(fields[19]);
  return { state: fields[0] ?? '?', start_ticks: Number.isSafeInteger(startTicks) ? startTicks : -1 };
}

/** The wall-clock time (ms) a process started, from its start ticks and the boot time; null without /proc. */
export async function processStartedAt(stat: ProcStat): Promise<number | null> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => null);
  const btime = text === null ? null : /^btime (\d+)$/m.exec(text)?.[1];
  // USER_HZ, the unit of /proc start times, is 100 on every architecture Node runs on
  return btime === undefined || btime === null ? null : Number(btime) * 1000 + stat.start_ticks * 10;
}

let own: Promise<ProcessIdentity> | null = null;

/** This process's identity (read once). */
export function ownIdentity(): Promise<ProcessIdentity> {
  own ??= (async () => ({
    pid: process.pid,
    hostname: hostname(),
    boot_id: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => null))?.trim() ?? null,
    pid_ns: await readlink('/proc/self/ns/pid').catch(() => null),
    start_ticks: (await procStat(process.pid))?.start_ticks ?? null,
  }))();
  return own;
}

/** True when `pid` names a running process here: signal 0 reaches it (EPERM: it exists, another user's) and it is not a zombie. */
export async function pidRunning(pid: number): Promise<{ running: boolean; stat: ProcStat | null }> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return { running: false, stat: null };
  }
  const stat = await procStat(pid);
  return { running: stat === null || stat.state !== 'Z', stat };
}

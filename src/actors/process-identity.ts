/**
 * Who a process is, beyond its pid: pids are reused, so a recorded pid is
 * trusted only when its start time (from /proc, in clock ticks since boot)
 * and the boot it was recorded in still match. Everything troupe signals
 * goes through {@link signalGroup}, which checks that first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process as recorded by whoever started it. Plain data: it goes into files. */
export interface ProcessIdentity {
  pid: number;
  /** its process group (a detached child leads its own: pgid === pid) */
  pgid: number;
  /** field 22 of /proc/<pid>/stat: clock ticks after boot when it started */
  start_time: number;
  /** /proc/sys/kernel/random/boot_id when it was recorded: a reboot reuses every pid */
  boot_id: string;
}

/** What /proc says of a live pid, or null when there is no such process. */
interface ProcStat {
  state: string;
  pgid: number;
  startTime: number;
}

let bootIdCache: string | undefined;

/** This boot's id; '' where /proc does not have it (identity then rests on the start time alone). */
export function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = '';
    }
  }
  return bootIdCache;
}

function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // the command name is in parentheses and may itself hold spaces or parentheses: fields start after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); pgid is field 5, starttime field 22
  return { state: fields[0]!, pgid: Number(fields[2]), startTime: Number(fields[19]) };
}

/** The identity of a running process (this one by default), or null when it is gone. */
export function identityOf(pid: number = process.pid): ProcessIdentity | null {
  const stat = procStat(pid);
  if (!stat) return null;
  return { pid, pgid: stat.pgid, start_time: stat.startTime, boot_id: bootId() };
}

/** True when the recorded process still runs: same pid, same start, same boot, and not a zombie (that counts as ended). */
export function isRunning(identity: ProcessIdentity): boolean {
  if (identity.boot_id !== bootId()) return false;
  const stat = procStat(identity.pid);
  return stat !== null && stat.startTime === identity.start_time && stat.state !== 'Z';
}

/** Pids of live (non-zombie) processes in group `pgid`. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = procStat(pid);
    if (stat && stat.pgid === pgid && stat.state !== 'Z') members.push(pid);
  }
  return members;
}

/**
 * True while the recorded process group still has a member. The group is
 * the recorded one when its leader is the recorded process, or when the
 * leader is gone and no other process has taken its pid: Linux does not hand
 * out a pid that is still some group's id, so what is left of the group is
 * what the leader started.
 */
export function groupAlive(identity: ProcessIdentity): boolean {
  if (identity.boot_id !== bootId()) return false;
  if (isRunning(identity)) return true;
  const holder = procStat(identity.pgid);
  if (holder && holder.startTime !== identity.start_time) return false;
  return groupMembers(identity.pgid).length > 0;
}

/** Sends `signal` to the recorded process group, only if it is still that group. Returns whether it was sent. */
export function signalGroup(identity: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!groupAlive(identity)) return false;
  try {
    process.kill(-identity.pgid, signal);
    return true;
  } catch {
    // ended between the check and the signal
    return false;
  }
}

/**
 * Ends a process group: SIGTERM, then SIGKILL after `graceMs`, and waits
 * until no member is left. A group that is not the recorded one (a reused
 * pid) is never signalled. Real time: this waits on other processes.
 */
export async function endGroup(identity: ProcessIdentity, graceMs: number, pollMs = 25): Promise<void> {
  if (!signalGroup(identity, 'SIGTERM')) return;
  const killAt = Date.now() + graceMs;
  while (groupAlive(identity)) {
    if (Date.now() >= killAt) {
      signalGroup(identity, 'SIGKILL');
      break;
    }
    await sleep(pollMs);
  }
  // SIGKILL cannot be ignored; what is left is being torn down by the kernel
  while (groupAlive(identity)) await sleep(pollMs);
}

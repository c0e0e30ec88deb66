// One `lifeline run` per state directory: two would both probe, announce and write the same
// overrides, used codes and audit log. The lock is the file `stateDir/lock`, one line naming its
// holder: `pid=N boot=BOOT_ID start=TICKS`, the process's PID, the kernel's boot ID and the
// process's start time in clock ticks since boot (/proc/PID/stat), which together name one process
// for ever (a PID alone is reused, and after a power cut the PID in the file may be anyone's).
//
// A lock whose holder is gone (kill -9, a crash, a power cut: another boot ID, no such process, a
// zombie, another process under the PID) is stale and taken over, so that a box comes back by
// itself; a live holder makes the second `run` exit 2 naming its PID. Node has no flock(2), so the
// lock is made atomic by link(2): the line is written and synced under a name of our own, then
// linked to `lock`, which fails when `lock` exists. A stale lock is renamed aside before it goes,
// and only when it is still the file that was judged stale (its inode), so two processes taking
// over at once cannot both win. Nothing here follows a symbolic link: one planted as `lock` is
// stale like any other lock and renamed away, its target untouched.

import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

import { readRegularFile } from '../hal/node/files';

export const LOCK_FILE = 'lock';

/**
 * What taking the lock gave: held (release it at exit; `note` says when a stale lock was taken
 * over), or not: held by `holderPid`, or (0) not possible at all (`problem` says why).
 */
export type LockResult =
  | { readonly held: true; readonly release: () => void; readonly note: string }
  | { readonly held: false; readonly holderPid: number; readonly problem: string };

/** A process as the lock names it. */
interface Holder {
  readonly pid: number;
  readonly boot: string;
  readonly start: string;
}

/** The kernel's boot ID: a lock from another boot is stale whatever its PID. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** The start time (clock ticks since boot) of a live process, or null when there is none. */
function startOf(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
  } catch (error) {
    // Hidden from us (hidepid) is not gone: only a missing entry proves that.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unknown';
  }
  // After the command name (in parentheses, which may hold anything): state, then field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  return state === 'Z' || state === 'X' ? null : (fields[19] ?? null);
}

function self(): Holder {
  return {
    pid: process.pid,
    boot: bootId(),
    start: startOf(process.pid) ?? 'unknown',
  };
}

function line(holder: Holder): string {
  return 'pid=' + holder.pid + ' boot=' + holder.boot + ' start=' + holder.start + '\n';
}

/**
 * The holder the lock names (never read through a link: a planted one's target is not read), and
 * what it is, for the record: its line, or why there is none (never the text of something else).
 */
function holderOf(path: string): { text: string; holder: Holder | null } {
  const file = readRegularFile(path, 256, { noFollow: true });
  const match = /^pid=(\d+) boot=([\w-]*) start=(\w+)\n?$/.exec(file.text ?? '');
  if (match === null) {
    // A link, torn by a power cut, or not a lock line at all: nobody is named.
    return { text: file.text === null ? file.problem : 'not a lock line', holder: null };
  }
  const holder = { pid: Number(match[1]), boot: match[2]!, start: match[3]! };
  return { text: line(holder).trim(), holder };
}

/** Whether `holder` is a live process other than us: the same boot, PID and start time. */
function alive(holder: Holder | null, me: Holder): holder is Holder {
  if (holder === null || holder.boot !== me.boot || holder.pid === me.pid) return false;
  const start = startOf(holder.pid);
  return start !== null && (start === holder.start || start === 'unknown');
}

/** Moves the stale lock (inode `inode`) out of the way; puts back a lock that replaced it. */
function removeStale(path: string, inode: number): void {
  const aside = path + '.stale-' + process.pid;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: someone else removed it
  }
  if (lstatSync(aside).ino !== inode) {
    // A live lock arrived between the judgement and the rename: it goes back where it was.
    try {
      linkSync(aside, path);
    } catch {
      // Another lock is there by now: that one's holder wins, as does the one moved aside.
    }
  }
  unlinkSync(aside);
}

/** Writes our line under a name of our own, synced: what link() then puts at `lock`. */
function writeCandidate(path: string, me: Holder): string {
  const candidate = path + '.' + me.pid;
  try {
    unlinkSync(candidate);
  } catch {
    // None left by an earlier process of this PID.
  }
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(candidate, flags, 0o600);
  try {
    writeSync(fd, line(me));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return candidate;
}

/** Takes the lock once; EEXIST when there is one already. */
function link(path: string, candidate: string, dir: string): number {
  linkSync(candidate, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return lstatSync(path).ino;
}

/** Releases the lock at exit, when it is still ours (the same inode). */
function releaser(path: string, inode: number): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (lstatSync(path).ino === inode) unlinkSync(path);
    } catch {
      // Gone already: nothing to release.
    }
  };
}

/** Takes the lock of `dir` (made, 0700, when missing), taking over a stale one. */
export function lockStateDir(dir: string): LockResult {
  const path = join(dir, LOCK_FILE);
  const me = self();
  let candidate = '';
  let note = '';
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    candidate = writeCandidate(path, me);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return { held: true, release: releaser(path, link(path, candidate, dir)), note };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const inode = lstatSync(path, { throwIfNoEntry: false })?.ino ?? -1;
      const { text, holder } = holderOf(path);
      if (alive(holder, me)) {
        const problem = dir + ' is in use by lifeline PID ' + holder.pid + ' (' + path + ')';
        return { held: false, holderPid: holder.pid, problem };
      }
      note = path + ' (' + text + ') is stale, its process gone: taken over';
      if (inode >= 0) removeStale(path, inode);
    }
    return { held: false, holderPid: 0, problem: path + ': could not be taken in 5 attempts' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return { held: false, holderPid: 0, problem: path + ': cannot be made (' + code + ')' };
  } finally {
    if (candidate !== '') unlinkQuietly(candidate);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Absent already.
  }
}

/**
 * The PID of the live `lifeline run` holding `dir`'s lock, or 0 when none does (`lifeline reload`
 * finds the process to signal this way).
 */
export function lockHolderPid(dir: string): number {
  const { holder } = holderOf(join(dir, LOCK_FILE));
  return alive(holder, self()) ? holder.pid : 0;
}

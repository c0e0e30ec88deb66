// Reading the files a config names (the config itself, the console key, the recovery codes) and the
// state files as hostile input: opened without blocking (a FIFO with no writer must not hang
// start-up), only a regular file, at most a bound of bytes (a /dev/zero must not grow the process),
// as strict UTF-8. A state file is never opened through a symbolic link (a link planted in stateDir
// would have Lifeline read or append to its target), and a secret (a key, the recovery codes, a TCP
// MD5 password) is refused when group or others may read it, as ssh refuses a private key (a
// root-owned one its group may read: secretModeProblem). Every refusal is one reason, ready for a
// `PATH: PROBLEM` line.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

export interface ReadOptions {
  /** Refuse a symbolic link (O_NOFOLLOW): a state file. */
  readonly noFollow?: boolean;
  /** Refuse a file that group or others may access (mode & 077): a secret. */
  readonly secret?: boolean;
}

/** Why a path that was refused as a symbolic link (O_NOFOLLOW gives ELOOP) was refused. */
export const SYMLINK_PROBLEM = 'is a symbolic link, not a regular file (never followed here)';

/** What a path that is not a regular file is. */
function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return stat.isSocket() ? 'a socket' : 'not a regular file';
}

/**
 * Why a secret at `path` with `stat` (its mode and owner) must not be used ('' when it may): as
 * ssh refuses a private key, a file of ours (owned by the user we run as) that group or others
 * may access is refused; as PostgreSQL allows its key, a file owned by root may also be read by
 * its group (0640 at most), which is how the Debian package gives the `lifeline` user its key in
 * /etc/lifeline without owning it. The line says what to run.
 */
export function secretModeProblem(path: string, stat: { mode: number; uid: number }): string {
  const rootShared = stat.uid === 0 && process.getuid?.() !== 0;
  if ((stat.mode & (rootShared ? 0o037 : 0o077)) === 0) return '';
  const octal = (stat.mode & 0o777).toString(8).padStart(4, '0');
  return (
    'is open to group or others (mode ' +
    octal +
    '): run chmod ' +
    (rootShared ? '640 ' : '600 ') +
    path
  );
}

/** secretModeProblem of the file at `path` (followed); '' also when it cannot be examined. */
export function secretFileProblem(path: string): string {
  try {
    return secretModeProblem(path, statSync(path));
  } catch {
    return ''; // Absent or unreadable: whoever reads it says so.
  }
}

/** The text of `path`, or why not (`cannot be read (ENOENT)`, `is a FIFO, not a regular file`). */
export function readRegularFile(
  path: string,
  bytesMax: number,
  options: ReadOptions = {},
): { text: string; problem: '' } | { text: null; problem: string } {
  let fd = -1;
  try {
    const noFollow = options.noFollow === true ? constants.O_NOFOLLOW : 0;
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | noFollow);
    const stat = fstatSync(fd);
    if (!stat.isFile())
      return { text: null, problem: 'is ' + fileKind(stat) + ', not a regular file' };
    const exposed = options.secret === true ? secretModeProblem(path, stat) : '';
    if (exposed !== '') return { text: null, problem: exposed };
    const buffer = Buffer.alloc(bytesMax + 1);
    let length = 0;
    for (let chunk = 1; chunk > 0 && length < buffer.length; length += chunk)
      chunk = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > bytesMax) return { text: null, problem: 'is larger than ' + bytesMax + ' bytes' };
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    return { text, problem: '' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' && options.noFollow === true)
      return { text: null, problem: SYMLINK_PROBLEM };
    return { text: null, problem: 'cannot be read (' + (code ?? 'it is not UTF-8 text') + ')' };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

// Files under stateDir, for the Node HAL's Storage: a replace is write + fsync + rename + fsync of
// the directory (a power cut leaves the old file or the new one); an append is write + fsync per
// line, with one rotation to NAME.1 when the file reaches its bound. No state file is opened
// through a symbolic link (O_NOFOLLOW): a link planted in stateDir (audit.log -> another file) is
// refused with its reason, never written through. A replace renames its own file over the name,
// which never follows a link either. A failure is reported once until the file works again.

import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

import type { Storage } from '../../firmware/hal';
import { readRegularFile, SYMLINK_PROBLEM } from './files';

export const APPEND_BYTES_MAX = 1024 * 1024;
/** The largest state file read back (an appended file is rotated at APPEND_BYTES_MAX). */
const READ_BYTES_MAX = 2 * APPEND_BYTES_MAX;

/**
 * Opens `path` for writing without blocking (a FIFO planted in stateDir must not hang the loop),
 * never through a symbolic link, and only when it is a regular file.
 */
function openRegular(path: string, flags: number): number {
  const fd = openSync(path, flags | constants.O_NONBLOCK | constants.O_NOFOLLOW, 0o600);
  if (fstatSync(fd).isFile()) return fd;
  closeSync(fd);
  const error: NodeJS.ErrnoException = new Error(path + ' is not a regular file');
  error.code = 'not a regular file';
  throw error;
}

/** Why a storage call failed: its error code, or what a refused link is. */
function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ELOOP' ? ': it ' + SYMLINK_PROBLEM : ' (' + code + ')';
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

/** A failed replace leaves no NAME.tmp behind (on a full disk it holds a torn half). */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Absent already, or the directory itself is gone: nothing is left behind either way.
  }
}

export class FileStorage implements Storage {
  private readonly appendFds: { [name: string]: number } = {};
  /** The last problem reported per file: a fault that repeats with every record is said once. */
  private readonly reported: { [name: string]: string } = {};

  constructor(
    private readonly dir: string,
    private readonly report: (line: string) => void,
    private readonly appendBytesMax = APPEND_BYTES_MAX,
  ) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      report('storage: cannot create ' + dir + ' (' + (error as NodeJS.ErrnoException).code + ')');
    }
  }

  readError = '';

  /** Like every file a config names: no FIFO or device, bounded, strict UTF-8 (hal/node/files). */
  read(name: string): string | null {
    const file = readRegularFile(join(this.dir, name), READ_BYTES_MAX, { noFollow: true });
    this.readError = file.problem === 'cannot be read (ENOENT)' ? '' : file.problem;
    return file.text;
  }

  replace(name: string, text: string): boolean {
    const path = join(this.dir, name);
    try {
      removeQuietly(path + '.tmp'); // whatever a crash (or anyone) left there: a fresh file only
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
      const fd = openRegular(path + '.tmp', flags);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(path + '.tmp', path);
      const dirFd = openSync(this.dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
      delete this.reported[name];
      return true;
    } catch (error) {
      this.problem(name, 'storage: cannot write ' + path + why(error));
      removeQuietly(path + '.tmp');
      return false;
    }
  }

  appendLine(name: string, line: string): boolean {
    const path = join(this.dir, name);
    try {
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND;
      let fd = this.appendFds[name];
      if (fd === undefined) fd = this.appendFds[name] = openRegular(path, flags);
      if (fstatSync(fd).size + line.length + 1 > this.appendBytesMax) {
        delete this.appendFds[name];
        closeSync(fd);
        renameSync(path, path + '.1');
        fd = this.appendFds[name] = openRegular(path, flags);
      }
      writeSync(fd, line + '\n');
      fsyncSync(fd);
      delete this.reported[name];
      return true;
    } catch (error) {
      const fd = this.appendFds[name];
      delete this.appendFds[name];
      if (fd !== undefined) closeQuietly(fd); // reopened on the next record: no descriptor leaks
      this.problem(name, 'storage: cannot append to ' + path + why(error));
      return false;
    }
  }

  private problem(name: string, line: string): void {
    if (this.reported[name] !== line) this.report(line);
    this.reported[name] = line;
  }
}

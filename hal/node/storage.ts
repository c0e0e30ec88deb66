// Files under stateDir, for the Node HAL's Storage: a replace is write + fsync + rename + fsync of
// the directory (a power cut leaves the old file or the new one); an append is write + fsync per
// line, with one rotation to NAME.1 when the file reaches its bound.

import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

import type { Storage } from '../../firmware/hal';

export const APPEND_BYTES_MAX = 1024 * 1024;

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

  read(name: string): string | null {
    this.readError = '';
    try {
      return readFileSync(join(this.dir, name), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'ENOENT') this.readError = code;
      return null;
    }
  }

  replace(name: string, text: string): boolean {
    const path = join(this.dir, name);
    try {
      const fd = openSync(path + '.tmp', 'w', 0o600);
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
      return true;
    } catch (error) {
      this.report(
        'storage: cannot write ' + path + ' (' + (error as NodeJS.ErrnoException).code + ')',
      );
      removeQuietly(path + '.tmp');
      return false;
    }
  }

  appendLine(name: string, line: string): boolean {
    const path = join(this.dir, name);
    try {
      let fd = this.appendFds[name];
      if (fd === undefined) fd = this.appendFds[name] = openSync(path, 'a', 0o600);
      if (fstatSync(fd).size + line.length + 1 > this.appendBytesMax) {
        closeSync(fd);
        renameSync(path, path + '.1');
        fd = this.appendFds[name] = openSync(path, 'a', 0o600);
      }
      writeSync(fd, line + '\n');
      fsyncSync(fd);
      return true;
    } catch (error) {
      delete this.appendFds[name];
      this.report(
        'storage: cannot append to ' + path + ' (' + (error as NodeJS.ErrnoException).code + ')',
      );
      return false;
    }
  }
}

// Reading the files a config names (the config itself, the console key, the recovery codes) as
// hostile input: opened without blocking (a FIFO with no writer must not hang start-up), only a
// regular file, at most a bound of bytes (a /dev/zero must not grow the process), as strict UTF-8.
// Every refusal is one reason, ready for a `PATH: PROBLEM` line.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** What a path that is not a regular file is. */
function fileKind(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return stat.isSocket() ? 'a socket' : 'not a regular file';
}

/** The text of `path`, or why not (`cannot be read (ENOENT)`, `is a FIFO, not a regular file`). */
export function readRegularFile(
  path: string,
  bytesMax: number,
): { text: string; problem: '' } | { text: null; problem: string } {
  let fd = -1;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile())
      return { text: null, problem: 'is ' + fileKind(stat) + ', not a regular file' };
    const buffer = Buffer.alloc(bytesMax + 1);
    let length = 0;
    for (let chunk = 1; chunk > 0 && length < buffer.length; length += chunk)
      chunk = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > bytesMax) return { text: null, problem: 'is larger than ' + bytesMax + ' bytes' };
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    return { text, problem: '' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { text: null, problem: 'cannot be read (' + (code ?? 'it is not UTF-8 text') + ')' };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

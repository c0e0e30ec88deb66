// TCP MD5 signatures (RFC 2385) for the Node HAL: the N-API addon built from native/tcp-md5 by
// scripts/build-md5.mjs (shipped prebuilt for linux-x64, linux-arm64 and linux-arm, like
// serialport's bindings), and the peers' secrets, read from their files when a connection is
// made, so that a rotated file takes effect at the next connection; a secret file that group or
// others may read is refused, as ssh refuses a private key. Rare: allocates freely.

import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { secretModeProblem } from './files';

/** The addon's calls (see native/tcp-md5/tcp_md5.c). */
export interface Md5Addon {
  /** A non-blocking TCP socket with the peer's key set, bound to `local`, not connected. */
  socket(family: 4 | 6, local: string | null, peer: string, key: string): number;
  /** Sets the peer's key on an existing socket (a listener). */
  setKey(fd: number, family: 4 | 6, peer: string, key: string): void;
  /**
   * A non-blocking UDP socket bound to `local` (or any) and `port` for BFD's received packets,
   * with SO_REUSEADDR; with `ttlCheck` the kernel drops every packet whose TTL (hop limit) is not
   * 255 (a socket filter: RFC 5881 5). Node's dgram takes it with `bind({ fd })`.
   */
  bfdSocket(family: 4 | 6, local: string | null, port: number, ttlCheck: boolean): number;
}

/** RFC 2385 keys on Linux: 1 to 80 bytes (TCP_MD5SIG_MAXKEYLEN). */
export const MD5_KEY_BYTES_MAX = 80;

let loaded: Md5Addon | null = null;

/**
 * The addon for this machine: next to the bundle (dist/ or a release), or, from the sources
 * (tests), in dist/. Throws with the paths tried when it is missing.
 */
export function md5Addon(): Md5Addon {
  if (loaded !== null) return loaded;
  const here = dirname(fileURLToPath(import.meta.url));
  const relative = join('tcp-md5', 'linux-' + process.arch, 'tcp_md5.node');
  const candidates = [join(here, relative), join(here, '..', '..', 'dist', relative)];
  const path = candidates.find((candidate) => existsSync(candidate));
  if (path === undefined) {
    throw new Error(
      'the TCP MD5 addon is missing (tried ' +
        candidates.join(', ') +
        '; node scripts/build-md5.mjs builds it)',
    );
  }
  loaded = createRequire(import.meta.url)(path) as Md5Addon;
  return loaded;
}

/**
 * The secret in `path`: its text without the final newline. Returns an error line instead when
 * it is unreadable, not a regular file, open to group or others (as ssh refuses a private key),
 * empty or longer than MD5_KEY_BYTES_MAX bytes.
 */
export function readMd5Key(path: string): { key: string } | { error: string } {
  let text: string;
  let fd = -1;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { error: 'is not a regular file' };
    const exposed = secretModeProblem(path, stat);
    if (exposed !== '') return { error: exposed };
    text = readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    return { error: 'cannot be read: ' + (error as Error).message };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes === 0) return { error: 'is empty' };
  if (bytes > MD5_KEY_BYTES_MAX)
    return { error: 'holds ' + bytes + ' bytes: a TCP MD5 key has at most ' + MD5_KEY_BYTES_MAX };
  return { key: text };
}

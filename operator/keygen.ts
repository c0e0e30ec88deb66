// `lifeline keygen`: makes the console's device key (32 random bytes as 64 hex characters, mode
// 0600, or 0640 for the service's group in the package's setgid /etc/lifeline) and one-time
// recovery codes, stored hashed (the same modes: a run refuses either file when others may read it,
// or group unless root owns it); the codes themselves are printed once, numbered, with the key's
// fingerprint: the audit names a login by them (`key=`, `code=`).

import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { hashCode, keyFingerprint } from '../firmware/auth';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32 symbols: no 0/O, 1/I

export function makeCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (let i = 0; i < 16; i++) code += (i > 0 && i % 4 === 0 ? '-' : '') + ALPHABET[bytes[i]! & 31];
  return code;
}

/**
/**
 * The mode of a new secret at `path`: 0600, or 0640 in a setgid directory: the Debian package's
 * /etc/lifeline is root:lifeline with the setgid bit, so that files made there by root belong to
 * the service's group, which must read them (the service runs as the lifeline user; a run accepts
 * group reading of a file root owns, hal/node/files.ts secretModeProblem). Nobody else reads them
 * either way.
 */
function secretMode(path: string): number {
  try {
    return (statSync(dirname(resolve(path))).mode & 0o2000) !== 0 ? 0o640 : 0o600;
  } catch {
    return 0o600;
  }
}

/**
 * Puts a new file of secretMode at `path`: created so and renamed into place, since a mode given
 * to an existing file would not apply (an old 0644 file replaced with --force would stay open).
 */
function writePrivate(path: string, text: string): void {
  const fresh = path + '.new';
  rmSync(fresh, { force: true });
  writeFileSync(fresh, text, { mode: secretMode(path), flag: 'wx' });
  renameSync(fresh, path);
}

export function keygen(args: readonly string[]): number {
  const value = (flag: string): string | null => {
    const index = args.indexOf(flag);
    return index >= 0 && index + 1 < args.length ? args[index + 1]! : null;
  };
  const keyFile = value('--key-file');
  const codesFile = value('--codes-file');
  const count = Number(value('--codes') ?? '10');
  if (keyFile === null || codesFile === null || !(count >= 1 && count <= 100)) {
    process.stderr.write(
      'usage: lifeline keygen --key-file FILE --codes-file FILE [--codes N (1-100)] [--force]\n',
    );
    return 2;
  }
  if (!args.includes('--force') && (existsSync(keyFile) || existsSync(codesFile))) {
    process.stderr.write(
      'keygen: ' + keyFile + ' or ' + codesFile + ' exists: --force replaces them\n',
    );
    return 2;
  }
  const key = randomBytes(32);
  writePrivate(keyFile, key.toString('hex') + '\n');
  const codes: string[] = [];
  for (let i = 0; i < count; i++) codes.push(makeCode());
  writePrivate(codesFile, codes.map(hashCode).join('\n') + '\n');
  process.stdout.write(
    'Recovery codes (each works once; they are shown only now, store them offline):\n' +
      codes.map((code, i) => String(i + 1).padStart(5) + '  ' + code).join('\n') +
      '\nKey fingerprint: ' +
      keyFingerprint(new Uint8Array(key)) +
      '\n(a login is audited as key=FINGERPRINT, or code=N: the number above)\n',
  );
  return 0;
}

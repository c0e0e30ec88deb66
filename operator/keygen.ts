// `lifeline keygen`: makes the console's device key (32 random bytes as 64 hex characters, mode
// 0600, or 0640 for the service's group in the package's /etc/lifeline) and one-time recovery
// codes, stored hashed; the codes themselves are printed once.

import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { hashCode } from '../firmware/auth';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32 symbols: no 0/O, 1/I

export function makeCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (let i = 0; i < 16; i++) code += (i > 0 && i % 4 === 0 ? '-' : '') + ALPHABET[bytes[i]! & 31];
  return code;
}

/**
 * 0600, or 0640 in a setgid directory: the Debian package's /etc/lifeline is root:lifeline with
 * the setgid bit, so that files made there by root belong to the service's group, which must read
 * them (the service runs as the lifeline user). Nobody else reads them either way. A file that
 * exists keeps its mode (--force): writeFileSync's mode applies only to a new file.
 */
function secretMode(path: string): number {
  try {
    return (statSync(dirname(resolve(path))).mode & 0o2000) !== 0 ? 0o640 : 0o600;
  } catch {
    return 0o600;
  }
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
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: secretMode(keyFile) });
  const codes: string[] = [];
  for (let i = 0; i < count; i++) codes.push(makeCode());
  writeFileSync(codesFile, codes.map(hashCode).join('\n') + '\n', { mode: secretMode(codesFile) });
  process.stdout.write(
    'Recovery codes (each works once; they are shown only now, store them offline):\n' +
      codes.map((code) => '  ' + code).join('\n') +
      '\n',
  );
  return 0;
}

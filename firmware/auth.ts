// Offline authentication for the console (SPEC.md): HMAC-SHA256 challenge-response with the device
// key, or a one-time recovery code (stored hashed; a used one is remembered in storage across
// restarts). Challenges are single use; comparisons are constant-time; every failure is audited and
// makes the next attempt wait twice as long (1 s, 2 s, 4 s ... 5 min); a session ends on logout or
// after 5 minutes without input. Nothing here needs the network.

import type { AuditLog } from './audit';
import { equalConstantTime, fromHex, HmacSha256, Sha256, toHex } from './crypto';
import type { Hal } from './hal';
import { isSpace } from './text';

export const SESSION_IDLE_MS = 5 * 60 * 1000;
export const LOCKOUT_MS_MAX = 5 * 60 * 1000;
export const USED_CODES_FILE = 'recovery-used';

export const enum AuthResult {
  Ok = 0,
  Failed = 1,
  Locked = 2,
  NoChallenge = 3,
  Unavailable = 4,
}

/** Recovery codes are compared without dashes or spaces, in upper case. */
export function normalizeCode(code: string): string {
  let text = '';
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c !== 45 && !isSpace(c)) text += code.charAt(i);
  }
  return text.toUpperCase();
}

/** The stored form of a recovery code: SHA-256 of its normalized text, in hex. */
export function hashCode(code: string): string {
  const text = normalizeCode(code);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  const hash = new Sha256();
  const out = new Uint8Array(32);
  hash.update(bytes, 0, bytes.length);
  hash.finish(out, 0);
  return toHex(out, 32);
}

export class Authenticator {
  authenticated: boolean;
  failures: number;
  /** Every failed attempt since boot (for metrics). */
  failuresTotal: number;
  lockedUntilMs: number;
  private readonly hmac: HmacSha256 | null;
  private readonly challenge: Uint8Array;
  private challengeValid: boolean;
  private readonly expected: Uint8Array;
  private readonly response: Uint8Array;
  private readonly used: string[];
  private lastInputMs: number;

  constructor(
    private readonly hal: Hal,
    private readonly audit: AuditLog,
    key: Uint8Array | null,
    private readonly recoveryHashes: readonly string[],
  ) {
    this.authenticated = false;
    this.failures = 0;
    this.failuresTotal = 0;
    this.lockedUntilMs = 0;
    this.hmac = key === null ? null : new HmacSha256(key);
    this.challenge = new Uint8Array(16);
    this.challengeValid = false;
    this.expected = new Uint8Array(32);
    this.response = new Uint8Array(32);
    const stored = hal.storage === null ? null : hal.storage.read(USED_CODES_FILE);
    this.used = stored === null ? [] : stored.split('\n').filter((line) => line !== '');
    this.lastInputMs = 0;
  }

  /** Input arrived: ends a session idle for longer than SESSION_IDLE_MS. */
  touch(nowMs: number): void {
    if (this.authenticated && nowMs - this.lastInputMs > SESSION_IDLE_MS) this.logout('idle');
    this.lastInputMs = nowMs;
  }

  logout(cause: string): void {
    if (!this.authenticated) return;
    this.authenticated = false;
    this.audit.record('logout', 'cause=' + cause);
  }

  /** A new single-use challenge, in hex; null when no key is configured. */
  newChallenge(): string | null {
    if (this.hmac === null) return null;
    this.hal.fillRandom(this.challenge);
    this.challengeValid = true;
    return toHex(this.challenge, 16);
  }

  /** Milliseconds until an attempt is accepted again (0: now). */
  lockedForMs(nowMs: number): number {
    return Math.max(0, this.lockedUntilMs - nowMs);
  }

  /** Checks `hex` as HMAC(key, challenge). The challenge is spent whatever the outcome. */
  verifyResponse(hex: string, nowMs: number): AuthResult {
    if (this.hmac === null) return AuthResult.Unavailable;
    if (this.lockedForMs(nowMs) > 0) return AuthResult.Locked;
    if (!this.challengeValid) return this.fail('no-challenge', nowMs, AuthResult.NoChallenge);
    this.challengeValid = false;
    this.hmac.compute(this.challenge, 0, 16, this.expected);
    const parsed = fromHex(hex, this.response);
    if (!parsed || !equalConstantTime(this.expected, this.response, 32))
      return this.fail('hmac', nowMs, AuthResult.Failed);
    return this.succeed('hmac');
  }

  /** Checks a recovery code: known, and not used before. */
  verifyCode(code: string, nowMs: number): AuthResult {
    if (this.recoveryHashes.length === 0) return AuthResult.Unavailable;
    if (this.lockedForMs(nowMs) > 0) return AuthResult.Locked;
    const hash = hashCode(code);
    const known = new Uint8Array(32);
    const given = new Uint8Array(32);
    fromHex(hash, given);
    let match = false;
    for (const stored of this.recoveryHashes) {
      // Every stored hash is compared, in constant time: the position of a match leaks nothing.
      if (fromHex(stored, known) && equalConstantTime(known, given, 32)) match = true;
    }
    if (!match) return this.fail('recovery-code', nowMs, AuthResult.Failed);
    if (this.used.indexOf(hash) >= 0)
      return this.fail('recovery-code-used', nowMs, AuthResult.Failed);
    this.used.push(hash);
    const storage = this.hal.storage;
    if (storage === null || !storage.appendLine(USED_CODES_FILE, hash)) {
      this.audit.record(
        'config',
        'problem="a used recovery code could not be remembered: it works until restart"',
      );
    }
    return this.succeed('recovery-code');
  }

  private fail(reason: string, nowMs: number, result: AuthResult): AuthResult {
    this.failures++;
    this.failuresTotal++;
    this.lockedUntilMs = nowMs + Math.min(1000 * Math.pow(2, this.failures - 1), LOCKOUT_MS_MAX);
    this.audit.record(
      'auth-fail',
      'reason=' +
        reason +
        ' failures=' +
        this.failures +
        ' retryInMs=' +
        (this.lockedUntilMs - nowMs),
    );
    return result;
  }

  private succeed(method: string): AuthResult {
    this.failures = 0;
    this.authenticated = true;
    this.audit.record('auth-ok', 'method=' + method);
    return AuthResult.Ok;
  }
}

// Offline authentication for the console (docs/reference.md): HMAC-SHA256 challenge-response with
// the device key, or a one-time recovery code (stored hashed; a used one is remembered in storage
// across restarts). Challenges are single use; comparisons are constant-time; every failure is
// audited and makes the next attempt wait twice as long (1 s, 2 s, 4 s ... 5 min), and the lockout
// is kept in storage so that a restart does not reset it; attempts while locked are counted and
// audited too. A session ends on logout, on hang-up (the transport tells) or after `idleMs` without
// input. Recovery codes fail closed: when the list of used codes cannot be read, or a code's use
// cannot be recorded, no code is accepted. Nothing here needs the network.

import { assert } from './assert';
import type { AuditLog } from './audit';
import { equalConstantTime, fromHex, HmacSha256, Sha256, toHex } from './crypto';
import type { Hal } from './hal';
import { Bug, planted } from './planted';
import { isSpace } from './text';

export const SESSION_IDLE_MS = 5 * 60 * 1000;
export const LOCKOUT_MS_MAX = 5 * 60 * 1000;
export const USED_CODES_FILE = 'recovery-used';
export const LOCKOUT_FILE = 'lockout.json';
const FAILURES_MAX = 64;

export const enum AuthResult {
  Ok = 0,
  Failed = 1,
  Locked = 2,
  NoChallenge = 3,
  Unavailable = 4,
  /** Recovery codes are refused: their used list cannot be read or written (`codesProblem`). */
  CodesRefused = 5,
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

/**
 * The key's fingerprint, as the audit names it (`key=`): the first 16 hex digits of SHA-256 of its
 * 32 bytes (`lifeline keygen` prints it; `xxd -r -p KEYFILE | sha256sum` gives it too).
 */
export function keyFingerprint(key: Uint8Array): string {
  assert(key.length === 32, 'a 32-byte key');
  const hash = new Sha256();
  const out = new Uint8Array(32);
  hash.update(key, 0, key.length);
  hash.finish(out, 0);
  return toHex(out, 8);
}

/** The stored form of a recovery code: SHA-256 of its normalized text, in hex. */
export function hashCode(code: string): string {
  const text = normalizeCode(code);
  assert(text.length <= code.length, 'normalizing only removes');
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
  /** Why recovery codes are refused now ('' when they are not). */
  codesProblem: string;
  readonly idleMs: number;
  /** The key's fingerprint ('' without a key): who logged in, in the audit. */
  readonly keyId: string;
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
    /** The session idle timeout (console.idleTimeoutMs; default SESSION_IDLE_MS). */
    idleMs?: number,
  ) {
    assert(key === null || key.length === 32, 'a 32-byte key (lifeline keygen)');
    for (const hash of recoveryHashes) assert(hash.length === 64, 'a SHA-256 in hex per code');
    assert(idleMs === undefined || idleMs > 0, 'an idle timeout');
    this.authenticated = false;
    this.failures = 0;
    this.failuresTotal = 0;
    this.lockedUntilMs = 0;
    this.codesProblem = '';
    this.idleMs = idleMs ?? SESSION_IDLE_MS;
    this.hmac = key === null ? null : new HmacSha256(key);
    this.keyId = key === null ? '' : keyFingerprint(key);
    this.challenge = new Uint8Array(16);
    this.challengeValid = false;
    this.expected = new Uint8Array(32);
    this.response = new Uint8Array(32);
    this.used = [];
    this.lastInputMs = 0;
    if (recoveryHashes.length > 0) this.readUsedCodes();
    this.restoreLockout(hal.clock.nowMs());
  }

  /** Reads the used codes; when they cannot be read, codes are refused (fail closed). */
  private readUsedCodes(): boolean {
    const storage = this.hal.storage;
    const stored = storage === null ? null : storage.read(USED_CODES_FILE);
    if (stored === null && storage !== null && storage.readError !== '') {
      const problem = USED_CODES_FILE + ' ' + storage.readError + ': recovery codes are refused';
      if (problem !== this.codesProblem) this.audit.record('config', 'problem="' + problem + '"');
      this.codesProblem = problem;
      return false;
    }
    this.codesProblem = '';
    this.used.splice(0, this.used.length); // not `length = 0`: a read-only length on Espruino
    const lines = stored === null ? [] : stored.split('\n');
    assert(this.codesProblem === '' && this.used.length === 0, 'the list read afresh');
    // A hash is the last 64 characters of its line: a power cut during an append leaves a torn
    // prefix that the next append continues (the simulator's seed 1257 found it forgetting a code).
    for (let i = 0; i < lines.length; i++)
      if (lines[i] !== '') this.used.push(lines[i]!.slice(-64));
    return true;
  }

  /** A lockout survives a restart; a lockout file that cannot be believed locks (fail closed). */
  private restoreLockout(nowMs: number): void {
    const storage = this.hal.storage;
    const text = storage === null ? null : storage.read(LOCKOUT_FILE);
    if (text === null && (storage === null || storage.readError === '')) return;
    let stored: { failures?: unknown; lockedForMs?: unknown } | null = null;
    try {
      stored = text === null ? null : JSON.parse(text);
    } catch (error) {
      stored = null;
    }
    const failures = stored === null ? undefined : stored.failures;
    const lockedForMs = stored === null ? undefined : stored.lockedForMs;
    if (
      typeof failures !== 'number' ||
      typeof lockedForMs !== 'number' ||
      !(failures >= 0 && failures <= FAILURES_MAX && Math.floor(failures) === failures) ||
      !(lockedForMs >= 0 && lockedForMs <= LOCKOUT_MS_MAX)
    ) {
      this.lockedUntilMs = nowMs + LOCKOUT_MS_MAX;
      const why = storage !== null && storage.readError !== '' ? storage.readError : 'is corrupt';
      this.audit.record('config', 'problem="' + LOCKOUT_FILE + ' ' + why + ': locked for 300s"');
      return;
    }
    this.failures = failures;
    this.lockedUntilMs = nowMs + lockedForMs;
  }

  private persistLockout(nowMs: number): void {
    assert(this.failures >= 0 && this.failures <= FAILURES_MAX, 'failures within the cap');
    const storage = this.hal.storage;
    if (storage === null) return;
    storage.replace(
      LOCKOUT_FILE,
      '{"failures":' +
        this.failures +
        ',"lockedForMs":' +
        Math.ceil(this.lockedForMs(nowMs)) +
        '}\n',
    );
  }

  /** Input arrived: ends a session idle for longer than `idleMs`. */
  touch(nowMs: number): void {
    assert(nowMs >= this.lastInputMs, 'time runs forward');
    if (this.authenticated && nowMs - this.lastInputMs > this.idleMs) this.logout('idle');
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
    assert(this.challenge.length === 16, 'a 128-bit challenge');
    this.challengeValid = true;
    return toHex(this.challenge, 16);
  }

  /** Milliseconds until an attempt is accepted again (0: now). */
  lockedForMs(nowMs: number): number {
    return Math.max(0, this.lockedUntilMs - nowMs);
  }

  /** An attempt while locked: counted and audited (the audit log throttles a flood of them). */
  private refuseLocked(method: string, nowMs: number): AuthResult {
    assert(this.lockedForMs(nowMs) > 0, 'refused only while locked');
    this.failuresTotal++;
    this.audit.record(
      'auth-fail',
      'reason=locked method=' + method + ' retryInMs=' + Math.ceil(this.lockedForMs(nowMs)),
    );
    return AuthResult.Locked;
  }

  /** Checks `hex` as HMAC(key, challenge). The challenge is spent whatever the outcome. */
  verifyResponse(hex: string, nowMs: number): AuthResult {
    if (this.hmac === null) return AuthResult.Unavailable;
    if (this.lockedForMs(nowMs) > 0) return this.refuseLocked('hmac', nowMs);
    if (!this.challengeValid) return this.fail('no-challenge', nowMs, AuthResult.NoChallenge);
    this.challengeValid = false;
    this.hmac.compute(this.challenge, 0, 16, this.expected);
    assert(this.expected.length === 32 && this.response.length === 32, 'HMAC-SHA-256 sizes');
    const parsed = fromHex(hex, this.response);
    if (!parsed || !equalConstantTime(this.expected, this.response, 32))
      return this.fail('hmac', nowMs, AuthResult.Failed);
    return this.succeed('hmac key=' + this.keyId, nowMs);
  }

  /**
   * Checks a recovery code: known, not used before, and its use recorded durably; refused (fail
   * closed) when the used list cannot be read or written.
   */
  verifyCode(code: string, nowMs: number): AuthResult {
    if (this.recoveryHashes.length === 0) return AuthResult.Unavailable;
    if (this.lockedForMs(nowMs) > 0) return this.refuseLocked('recovery-code', nowMs);
    if (this.codesProblem !== '' && !this.readUsedCodes()) return AuthResult.CodesRefused;
    const hash = hashCode(code);
    const known = new Uint8Array(32);
    const given = new Uint8Array(32);
    fromHex(hash, given);
    // The code's number in the list (1 is the first line keygen printed): who logged in.
    let number = 0;
    for (let i = 0; i < this.recoveryHashes.length; i++) {
      // Every stored hash is compared, in constant time: the position of a match leaks nothing.
      const equal = fromHex(this.recoveryHashes[i]!, known) && equalConstantTime(known, given, 32);
      number = equal && number === 0 ? i + 1 : number;
    }
    if (number === 0) return this.fail('recovery-code', nowMs, AuthResult.Failed);
    assert(number <= this.recoveryHashes.length, 'a code of the list');
    if (this.used.indexOf(hash) >= 0)
      return this.fail('recovery-code-used code=' + number, nowMs, AuthResult.Failed);
    const storage = this.hal.storage;
    const recorded = storage === null || storage.appendLine(USED_CODES_FILE, hash);
    if (!recorded && (planted.bugs & Bug.UsedCodeForgotten) === 0) {
      this.codesProblem =
        'the use of the code cannot be recorded in ' +
        USED_CODES_FILE +
        ' (state directory full or read-only?): recovery codes are refused';
      this.audit.record('auth-fail', 'reason=recovery-code-not-recorded');
      return AuthResult.CodesRefused;
    }
    this.used.push(hash);
    return this.succeed('recovery-code code=' + number, nowMs);
  }

  private fail(reason: string, nowMs: number, result: AuthResult): AuthResult {
    assert(result !== AuthResult.Ok, 'a failure is not a success');
    if (this.failures < FAILURES_MAX) this.failures++;
    this.failuresTotal++;
    const lockMs = Math.min(1000 * Math.pow(2, this.failures - 1), LOCKOUT_MS_MAX);
    assert(lockMs >= 1000 && lockMs <= LOCKOUT_MS_MAX, 'a lockout of 1 s to its cap');
    this.lockedUntilMs = nowMs + lockMs;
    this.audit.record(
      'auth-fail',
      'reason=' + reason + ' failures=' + this.failures + ' retryInMs=' + lockMs,
    );
    this.persistLockout(nowMs);
    return result;
  }

  private succeed(method: string, nowMs: number): AuthResult {
    assert(this.lockedForMs(nowMs) === 0, 'no success while locked');
    const hadFailures = this.failures > 0;
    this.failures = 0;
    if (hadFailures) this.persistLockout(nowMs);
    this.authenticated = true;
    this.audit.record('auth-ok', 'method=' + method);
    return AuthResult.Ok;
  }
}

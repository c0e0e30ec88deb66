// The authenticator on its own (firmware/auth.ts), on the sim HAL: how a recovery code is
// normalized before it is hashed, which stored lockouts are believed (each edge), the idle
// timeout's edge, what it does without a key, without codes or without storage, and what it
// audits. The mutation run found these unpinned by the console's tests.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { AuthResult, Authenticator, hashCode, normalizeCode } from '../../firmware/auth';
import type { Hal } from '../../firmware/hal';
import { SimHal } from '../../hal/sim/index';
import { CODES, consoleRig, KEY } from '../support/console-rig';

const CORRUPT = 'problem="lockout.json is corrupt: locked for 300s"';

/** An authenticator booted on `files` (the rig's audit log), and its audit records. */
function boot(files: { [name: string]: string } = {}, options: { key?: boolean } = {}) {
  const sim = new SimHal({ socketsMax: 8, seed: 4 });
  Object.assign(sim.storage.files, files);
  const rig = consoleRig(sim);
  const auth = new Authenticator(
    sim,
    rig.lifeline.audit,
    options.key === false ? null : new Uint8Array(KEY),
    CODES.map(hashCode),
    1000,
  );
  const records = (event: string): string[] =>
    rig.lifeline.audit
      .last(100)
      .filter((line) => line.split(' ')[2] === event)
      .map((line) => line.split(' ').slice(3).join(' '));
  return { sim, auth, records, nowMs: () => sim.clock.nowMs() };
}

describe('authenticator', () => {
  it('compares recovery codes without dashes or white space, in upper case', () => {
    expect(normalizeCode(' abcd-efgh\tjklm npqr-')).toBe('ABCDEFGHJKLMNPQR');
    expect(normalizeCode('')).toBe('');
    const sha = createHash('sha256').update('ABCDEFGHJKLMNPQR').digest('hex');
    expect(hashCode('abcd efgh-jklm-npqr')).toBe(sha);
    const { auth, nowMs } = boot();
    expect(auth.verifyCode(CODES[0]!.toLowerCase().replace(/-/g, ' '), nowMs())).toBe(
      AuthResult.Ok,
    );
  });

  it.each([
    ['no failures, no lock', '{"failures":0,"lockedForMs":0}', 0],
    ['the most failures and the longest lock', '{"failures":64,"lockedForMs":300000}', 300000],
  ])('believes a stored lockout at its edges: %s', (_what, text, lockedMs) => {
    const { auth, records, nowMs } = boot({ 'lockout.json': text });
    expect(auth.lockedForMs(nowMs())).toBe(lockedMs);
    expect(records('config')).toEqual([]);
  });

  it.each([
    ['65 failures', '{"failures":65,"lockedForMs":0}'],
    ['a fraction of a failure', '{"failures":1.5,"lockedForMs":0}'],
    ['negative failures', '{"failures":-1,"lockedForMs":0}'],
    ['failures as text', '{"failures":"1","lockedForMs":0}'],
    ['a lock past 5 minutes', '{"failures":1,"lockedForMs":300001}'],
    ['a negative lock', '{"failures":1,"lockedForMs":-1}'],
    ['no lock', '{"failures":1}'],
    ['null', 'null'],
    ['not JSON', '{"failures":'],
  ])('locks for 5 minutes on a lockout it cannot believe: %s', (_what, text) => {
    const { auth, records, nowMs } = boot({ 'lockout.json': text });
    expect(auth.lockedForMs(nowMs())).toBe(300000);
    expect(records('config')).toContain(CORRUPT);
  });

  it('goes on counting from the stored failures: the next lock doubles', () => {
    const { auth, records, nowMs } = boot({ 'lockout.json': '{"failures":3,"lockedForMs":0}' });
    expect(auth.verifyCode('WRONG-CODE', nowMs())).toBe(AuthResult.Failed);
    expect(records('auth-fail')).toEqual(['reason=recovery-code failures=4 retryInMs=8000']);
    expect(auth.verifyCode(CODES[0]!, nowMs())).toBe(AuthResult.Locked);
    expect(records('auth-fail')[1]).toBe('reason=locked method=recovery-code retryInMs=8000');
  });

  it('ends a session idle for longer than idleMs, not at idleMs', () => {
    const { auth, records, nowMs } = boot();
    const start = nowMs();
    auth.touch(start);
    expect(auth.verifyCode(CODES[1]!, start)).toBe(AuthResult.Ok);
    expect(records('auth-ok')).toEqual(['method=recovery-code code=2']);
    auth.touch(start + 1000);
    expect(auth.authenticated).toBe(true);
    auth.touch(start + 2001);
    expect(auth.authenticated).toBe(false);
    expect(records('logout')).toEqual(['cause=idle']);
    auth.logout('again');
    expect(records('logout')).toEqual(['cause=idle']);
  });

  it('refuses a used code as used, and audits a code whose use cannot be recorded', () => {
    const { sim, auth, records, nowMs } = boot();
    expect(auth.verifyCode(CODES[0]!, nowMs())).toBe(AuthResult.Ok);
    expect(auth.verifyCode(CODES[0]!, nowMs())).toBe(AuthResult.Failed);
    expect(records('auth-fail')).toEqual([
      'reason=recovery-code-used code=1 failures=1 retryInMs=1000',
    ]);
    sim.storage.failing = true;
    expect(auth.verifyCode(CODES[1]!, nowMs() + 1000)).toBe(AuthResult.CodesRefused);
    expect(records('auth-fail')[1]).toBe('reason=recovery-code-not-recorded');
  });

  it('answers Unavailable without a key, and without codes', () => {
    const { auth, nowMs } = boot({}, { key: false });
    expect(auth.newChallenge()).toBeNull();
    expect(auth.verifyResponse('00'.repeat(32), nowMs())).toBe(AuthResult.Unavailable);
    const sim = new SimHal({ socketsMax: 8, seed: 4 });
    const rig = consoleRig(sim);
    const none = new Authenticator(sim, rig.lifeline.audit, new Uint8Array(KEY), [], 1000);
    expect(none.verifyCode(CODES[0]!, 0)).toBe(AuthResult.Unavailable);
    expect(none.newChallenge()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('works without storage: codes are taken once in memory, a lockout is kept in memory', () => {
    const sim = new SimHal({ socketsMax: 8, seed: 4 });
    const hal = new Proxy(sim, {
      get: (target, key) => {
        if (key === 'storage') return null;
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as unknown as Hal;
    const rig = consoleRig(sim);
    const auth = new Authenticator(
      hal,
      rig.lifeline.audit,
      new Uint8Array(KEY),
      CODES.map(hashCode),
    );
    expect(auth.verifyCode('WRONG-CODE', 0)).toBe(AuthResult.Failed);
    expect(auth.lockedForMs(0)).toBe(1000);
    expect(auth.verifyCode(CODES[0]!, 1000)).toBe(AuthResult.Ok);
    expect(auth.verifyCode(CODES[0]!, 1000)).toBe(AuthResult.Failed);
    expect(sim.storage.files['recovery-used']).toBeUndefined();
  });
});

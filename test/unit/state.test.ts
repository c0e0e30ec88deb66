// The state directory and the clock as hostile inputs, on the sim HAL: whatever overrides.json
// holds, boot goes on (probe loop, routes, audit); a stored override never outlasts what the
// operator granted, whichever way the wall clock moved; and nothing is answered OK that a restart
// would lose.

import { describe, expect, it } from 'vitest';

import { hashCode } from '../../firmware/auth';
import { OVERRIDES_FILE } from '../../firmware/override';
import { SimHal } from '../../hal/sim/index';
import { ANNOUNCE, WITHDRAW } from '../helpers';
import { CODES, consoleRig } from '../support/console-rig';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A firmware booted on `files` as its state directory, the data centres healthy. */
function bootWith(files: { [name: string]: string }, unreadable: string[] = []) {
  const sim = new SimHal({ socketsMax: 8, seed: 9 });
  Object.assign(sim.storage.files, files);
  sim.storage.unreadable.push(...unreadable);
  return consoleRig(sim);
}

function problems(rig: ReturnType<typeof consoleRig>): string[] {
  return rig.lifeline.audit
    .last(50)
    .filter((line) => line.includes(' config problem='))
    .map((line) => line.split(' config ')[1]!);
}

/** An override `announce all for 30m` made at 1 s, then a kill -9 after `runMs` more. */
function crashedWithOverride(runMs: number) {
  const first = consoleRig();
  first.sim.runFor(1000);
  first.login();
  expect(first.type('withdraw all for 30m\n')).toEqual(['OK withdraw all for 30m']);
  first.sim.runFor(runMs);
  return { files: { ...first.sim.storage.files }, wallMs: first.sim.wallClockMs() };
}

/** Restarts on `files` with the wall clock at `wallMs`: the override's remaining seconds. */
function restartAt(files: { [name: string]: string }, wallMs: number) {
  const sim = new SimHal({ socketsMax: 8, seed: 10 });
  Object.assign(sim.storage.files, files);
  sim.wallOffsetMs = wallMs - sim.wallClockMs();
  const rig = consoleRig(sim);
  const status = rig.type('status\n')[0]!;
  const match = /override=withdraw\((\d+)s\)/.exec(status);
  return { rig, remainingS: match === null ? -1 : Number(match[1]) };
}

describe('overrides.json as hostile input', () => {
  const corrupt: [string, string][] = [
    ['[null]', 'overrides.json[0] is not an override of a configured service: skipped'],
    ['[1]', 'overrides.json[0] is not an override of a configured service: skipped'],
    ['{}', 'overrides.json is not a list: overrides cleared'],
    ['[{"service":"dns","kind":"announce","expiresAtWallMs":"soon"}]', 'overrides.json[0] is not'],
    ['[{"service":"dns","kind":"announce","expiresAtWallMs":1e400}]', 'overrides.json[0] is not'],
    [
      '[{"service":"dns","kind":"announce","grantedMs":1e400,"remainingMs":1,"writtenAtWallMs":0}]',
      'overrides.json[0] is not',
    ],
    [
      '[{"service":"dns","kind":"announce","grantedMs":60000,"remainingMs":90000,"writtenAtWallMs":0}]',
      'overrides.json[0] is not',
    ],
    ['[{"service":"dns","kind":"withdraw","grantedMs":null}]', 'overrides.json[0] is not'],
  ];
  for (const [text, problem] of corrupt) {
    it('boots, probes and announces with overrides.json = ' + text + ', and says why', () => {
      const rig = bootWith({ [OVERRIDES_FILE]: text });
      rig.sim.runFor(1000);
      expect(rig.routes()).toEqual(ANNOUNCE);
      expect(rig.type('status\n')[0]).toMatch(/override=none/);
      expect(problems(rig).join('\n')).toContain(problem);
    });
  }

  it('boots without overrides when overrides.json is there but unreadable (a directory)', () => {
    const rig = bootWith({}, [OVERRIDES_FILE]);
    rig.sim.runFor(1000);
    expect(rig.routes()).toEqual(ANNOUNCE);
    expect(problems(rig)).toEqual([
      'problem="overrides.json cannot be read (EISDIR): no overrides"',
    ]);
  });
});

describe('a stored override and a shifted wall clock', () => {
  it('with the clock a year behind (or at 1970) it gets what was left, less one persist interval', () => {
    // Killed 10.5 minutes into 30: the last write, at 10 minutes, said 20 minutes were left.
    const crashed = crashedWithOverride(10.5 * 60 * 1000);
    for (const wallMs of [crashed.wallMs - YEAR_MS, 0]) {
      const { rig, remainingS } = restartAt(crashed.files, wallMs);
      expect(remainingS).toBe(19 * 60);
      expect(rig.routes()).toEqual(WITHDRAW);
      expect(problems(rig).join('\n')).toMatch(
        /\(dns\) the wall clock is \d+s behind .*charged 60s/,
      );
    }
  });

  it('with the clock right, a crash costs at most a persist interval, a clean stop only the downtime', () => {
    const crashed = crashedWithOverride(10.5 * 60 * 1000);
    // Written at 10 minutes (20 left), killed 30 s later, down 100 s by a clock that is right.
    expect(restartAt(crashed.files, crashed.wallMs + 100000).remainingS).toBe(20 * 60 - 130);
    expect(restartAt(crashed.files, crashed.wallMs + 20000).remainingS).toBe(19 * 60);
    expect(restartAt(crashed.files, crashed.wallMs - 20000).remainingS).toBe(19 * 60);
    const first = consoleRig();
    first.login();
    first.type('withdraw all for 30m\n');
    first.sim.runFor(90 * 1000);
    first.lifeline.stop();
    const { remainingS } = restartAt(
      { ...first.sim.storage.files },
      first.sim.wallClockMs() + 5000,
    );
    expect(remainingS).toBe(30 * 60 - 95);
  });

  it('with the clock two hours ahead it has expired, and the audit says so', () => {
    const crashed = crashedWithOverride(60 * 1000);
    const { rig, remainingS } = restartAt(crashed.files, crashed.wallMs + 2 * 3600 * 1000);
    expect(remainingS).toBe(-1);
    rig.sim.runFor(1000);
    expect(rig.routes()).toEqual(ANNOUNCE);
    expect(problems(rig).join('\n')).toMatch(/expired while stopped \(the wall clock says 7200s/);
  });

  it('a crash loop with the clock behind cannot keep an override alive longer than granted', () => {
    let { files, wallMs } = crashedWithOverride(1000);
    let activeMs = 1000;
    for (let restart = 0; restart < 100; restart++) {
      const { rig, remainingS } = restartAt(files, wallMs - YEAR_MS);
      if (remainingS < 0) break;
      rig.sim.runFor(30000);
      activeMs += 30000;
      files = { ...rig.sim.storage.files };
    }
    expect(activeMs).toBeLessThanOrEqual(30 * 60 * 1000);
  });
});

describe('a durable promise is answered OK only when durable', () => {
  it('auto on a full state directory answers ERR not-saved, and a restart shows why', () => {
    const first = consoleRig();
    first.sim.runFor(1000);
    first.login();
    expect(first.type('announce all\n')).toEqual(['OK announce all']);
    first.sim.storage.failing = true; // ENOSPC from here on
    expect(first.type('auto all\n')).toEqual([
      'ERR not-saved auto all is in effect, but overrides.json could not be written ' +
        '(state directory full or read-only?): a restart loses it',
    ]);
    const { rig } = restartAt({ ...first.sim.storage.files }, first.sim.wallClockMs());
    expect(rig.type('status\n')[0]).toMatch(/override=announce /);
  });
});

describe('without a state directory', () => {
  it('says on the OK line that an override lives in memory only', () => {
    const sim = new SimHal({ socketsMax: 8, seed: 9 });
    const hal = new Proxy(sim, {
      get: (target, key) => {
        if (key === 'storage') return null;
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const rig = consoleRig(sim, hal);
    rig.login();
    expect(rig.type('announce all for 30m\n')).toEqual([
      'OK announce all for 30m (in memory only: no stateDir)',
    ]);
  });
});

describe('recovery codes and the lockout fail closed', () => {
  it('refuses every recovery code while recovery-used is unreadable, and says why', () => {
    const rig = bootWith({}, ['recovery-used']);
    const refused =
      'ERR auth-unavailable recovery-used cannot be read (EISDIR): recovery codes are refused';
    expect(rig.type('auth code ' + CODES[0] + '\n')).toEqual([refused]);
    expect(problems(rig)).toContain('problem="' + refused.slice(21) + '"');
    rig.sim.storage.unreadable.length = 0; // readable again: codes work, once
    expect(rig.type('auth code ' + CODES[0] + '\n')).toEqual(['OK authenticated']);
  });

  it('knows a used code whose hash was appended onto a line torn by a power cut', () => {
    // The simulator's seed 1257 outside it: a power cut tore the append of code 1's hash part-way
    // (its use was never answered OK), and code 0's use was appended onto the torn line. A hash
    // is the last 64 characters of its line, so code 0 stays used and code 1 is still free.
    const torn = hashCode(CODES[1]!).slice(0, 23);
    const rig = bootWith({ 'recovery-used': torn + hashCode(CODES[0]!) + '\n' });
    const used = 'ERR auth-failed unknown or used recovery code: the next attempt waits 1s';
    expect(rig.type('auth code ' + CODES[0] + '\n')).toEqual([used]);
    rig.sim.runFor(1000);
    expect(rig.type('auth code ' + CODES[1] + '\n')).toEqual(['OK authenticated']);
    // The next boot reads both, on a torn line or a whole one, and takes neither.
    const again = bootWith({ ...rig.sim.storage.files });
    expect(again.type('auth code ' + CODES[1] + '\n')).toEqual([used]);
    again.sim.runFor(1000);
    expect(again.type('auth code ' + CODES[0] + '\n')[0]).toMatch(
      /^ERR auth-failed unknown or used/,
    );
  });

  it('refuses a recovery code whose use cannot be recorded (a full disk), and takes it later', () => {
    const rig = consoleRig();
    rig.sim.storage.failing = true;
    expect(rig.type('auth code ' + CODES[1] + '\n')).toEqual([
      'ERR auth-unavailable the use of the code cannot be recorded in recovery-used ' +
        '(state directory full or read-only?): recovery codes are refused',
    ]);
    rig.sim.storage.failing = false;
    expect(rig.type('auth code ' + CODES[1] + '\n')).toEqual(['OK authenticated']);
    expect(rig.sim.storage.files['recovery-used']).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('keeps the lockout across a kill -9, and a corrupt lockout file locks', () => {
    const first = consoleRig();
    for (let i = 0; i < 4; i++) {
      first.type('auth code WRONG-WRONG\n');
      first.sim.runFor(first.auth.lockedForMs(first.sim.timeMs));
    }
    first.type('auth code WRONG-WRONG\n'); // the fifth failure: 16 s
    const second = bootWith({ ...first.sim.storage.files });
    expect(second.type('auth code ' + CODES[0] + '\n')[0]).toBe(
      'ERR auth-locked too many failures: retry in 16s',
    );
    second.sim.runFor(16000);
    second.type('auth code WRONG\n');
    expect(second.auth.lockedForMs(second.sim.timeMs)).toBe(32000); // it goes on doubling
    const third = bootWith({ 'lockout.json': '{"failures":"x"}' });
    expect(third.auth.lockedForMs(third.sim.timeMs)).toBe(300000);
  });

  it('ends a login after console.idleTimeoutMs without input', () => {
    const sim = new SimHal({ socketsMax: 8, seed: 9 });
    const rig = consoleRig(sim, sim, 20000);
    rig.login();
    rig.sim.runFor(20001);
    expect(rig.type('withdraw all\n')[0]).toMatch(/^ERR auth-required/);
  });

  it('counts and audits 1,200 attempts made while locked', () => {
    const rig = consoleRig();
    rig.type('auth code WRONG\n');
    for (let i = 0; i < 1200; i++) rig.type('auth code WRONG\n');
    expect(rig.auth.failuresTotal).toBe(1201);
    expect(rig.lifeline.audit.last(5).join('\n')).toMatch(/auth-fail reason=locked/);
  });
});

describe('the audit log under a flood', () => {
  it('keeps the real events when a pin fails to read 362 times in 12 s, and counts the rest', () => {
    const rig = consoleRig();
    rig.sim.runFor(1000);
    for (let i = 0; i < 362; i++) {
      rig.lifeline.audit.record('pin', i % 2 === 0 ? 'problem="pin: cannot read"' : 'problem="ok"');
      if (i === 200) rig.lifeline.setPin(true, 'driver=sysfs');
      rig.sim.runFor(33);
    }
    const stored = rig.sim.storage.files['audit.log']!.split('\n');
    expect(stored.filter((line) => line.includes(' pin problem=')).length).toBe(10);
    expect(stored.filter((line) => line.includes(' pin state=asserted')).length).toBe(1);
    rig.sim.runFor(60000);
    expect(rig.lifeline.audit.last(300).join('\n')).toMatch(
      /suppressed event=pin\/problem count=35[0-9] windowMs=60000/,
    );
    // boot, and the announcement at 1 s (the pin's announce changed nothing): none pushed out.
    const real = rig.lifeline.audit.last(300).filter((line) => / (routes|boot) /.test(line));
    expect(real.length).toBe(2);
  });

  it('prints audit values as integers', () => {
    const rig = consoleRig();
    rig.sim.runFor(0.1 + 0.2); // a clock with a fraction, as performance.now() has
    rig.type('auth code WRONG\n');
    expect(rig.lifeline.audit.last(1)[0]).toMatch(
      / auth-fail reason=recovery-code failures=1 retryInMs=1000$/,
    );
  });
});

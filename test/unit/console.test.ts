// The console, offline authentication and the override arbiter as specifications, on the sim HAL:
// bytes in, reply lines out, routes on the announcer channel, records in the audit log.

import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { Authenticator, hashCode } from '../../firmware/auth';
import { Behaviour, SimHal } from '../../hal/sim/index';
import { ANNOUNCE, WITHDRAW } from '../helpers';
import { CODES, consoleRig, KEY } from '../support/console-rig';

describe('console', () => {
  it('edits lines: CR, LF or CRLF end them, backspace edits, control bytes are ignored', () => {
    const rig = consoleRig();
    expect(rig.type('helq\x08p\r\n')[0]).toMatch(/^INFO help/);
    expect(rig.type('lo\x00g\x1b 1\n')).toHaveLength(2);
    expect(rig.type('\r\n\r\n\n')).toEqual([]);
    expect(rig.type('frobnicate\r')).toEqual(['ERR unknown-command "frobnicate": try help']);
  });

  it('rejects an overlong line whole, and nothing of it is done', () => {
    const rig = consoleRig();
    rig.login();
    expect(rig.type('withdraw all ' + 'x'.repeat(300) + '\r\n')).toEqual([
      'ERR line-too-long lines are at most 256 bytes; nothing was done',
    ]);
    rig.sim.runFor(1000);
    expect(rig.routes()).toEqual(ANNOUNCE);
  });

  it('answers a 10 KB line and a 1 MB flood without a newline with one ERR each, and goes on', () => {
    const rig = consoleRig();
    expect(rig.type('x'.repeat(10 * 1024) + '\n')).toEqual([
      'ERR line-too-long lines are at most 256 bytes; nothing was done',
    ]);
    const flood = new Uint8Array(1024 * 1024).fill(0x61);
    rig.console.receive(flood, 0, flood.length);
    expect(rig.type('\r\nhelp\r\n')[0]).toBe(
      'ERR line-too-long lines are at most 256 bytes; nothing was done',
    );
    expect(rig.type('log 1\n').pop()).toBe('OK');
  });

  it('reports status as SPEC.md shows it', () => {
    const rig = consoleRig();
    rig.sim.runFor(1000);
    expect(rig.type('status\n')).toEqual([
      'INFO service=dns state=announced auto=up override=none pin=off healthy=3/3 local=none penalty=0 bgp=exabgp',
      'OK',
    ]);
  });

  it('authenticates with HMAC over a single-use challenge; replays and wrong answers fail and slow down', () => {
    const rig = consoleRig();
    expect(rig.type('withdraw all\n')).toEqual([
      'ERR auth-required withdraw needs an authenticated session: auth first',
    ]);
    const challenge = /challenge=([0-9a-f]{32})/.exec(rig.type('auth\n')[0]!)![1]!;
    const response = createHmac('sha256', KEY).update(Buffer.from(challenge, 'hex')).digest('hex');
    expect(rig.type('auth ' + response + '\n')).toEqual(['OK authenticated']);
    rig.type('logout\n');
    expect(rig.type('auth ' + response + '\n')).toEqual([
      'ERR auth-no-challenge ask for one with: auth',
    ]); // replay
    expect(rig.type('auth\nauth ' + response + '\n')[2]).toMatch(
      /^ERR auth-locked too many failures: retry in 1s/,
    );
    rig.sim.runFor(1000);
    rig.type('auth\n');
    expect(rig.type('auth ' + 'ab'.repeat(32) + '\n')).toEqual([
      'ERR auth-failed wrong answer to the challenge: the next attempt waits 2s',
    ]);
    expect(rig.auth.lockedForMs(rig.sim.timeMs)).toBe(2000); // the second failure: 2 s (the first: 1 s)
    const events = rig.lifeline.audit.last(20).map((line) => line.split(' ').slice(2, 4).join(' '));
    expect(
      events.filter((event) => event.startsWith('auth') || event.startsWith('logout')).slice(-4),
    ).toEqual([
      'logout cause=logout',
      'auth-fail reason=no-challenge',
      'auth-fail reason=locked', // refused while locked: audited and counted too
      'auth-fail reason=hmac',
    ]);
    expect(rig.auth.failuresTotal).toBe(3);
    // Who logged in: the key's fingerprint, the first 16 hex digits of SHA-256 of its bytes.
    const fingerprint = createHash('sha256').update(KEY).digest('hex').slice(0, 16);
    expect(rig.lifeline.audit.last(20).join('\n')).toMatch(
      new RegExp(' auth-ok method=hmac key=' + fingerprint + '$', 'm'),
    );
  });

  it('takes each recovery code once, and remembers used ones across restarts', () => {
    const rig = consoleRig();
    expect(rig.type('auth code abcd-efgh-jklm-npqr\n')).toEqual(['OK authenticated']);
    rig.type('logout\n');
    expect(rig.type('auth code ABCD EFGH JKLM NPQR\n')).toEqual([
      'ERR auth-failed unknown or used recovery code: the next attempt waits 1s',
    ]);
    const again = new Authenticator(rig.sim, rig.lifeline.audit, null, CODES.map(hashCode));
    rig.sim.runFor(5000);
    expect(again.verifyCode(CODES[0]!, rig.sim.timeMs)).toBe(1);
    rig.sim.runFor(5000);
    expect(again.verifyCode(CODES[1]!, rig.sim.timeMs)).toBe(0);
    // Each login and reuse names the code by its number in the list (keygen printed them so).
    const audit = rig.lifeline.audit.last(20).map((line) => line.split(' ').slice(2).join(' '));
    expect(audit.filter((line) => line.startsWith('auth'))).toEqual([
      'auth-ok method=recovery-code code=1',
      'auth-fail reason=recovery-code-used code=1 failures=1 retryInMs=1000',
      'auth-fail reason=recovery-code-used code=1 failures=2 retryInMs=2000',
      'auth-ok method=recovery-code code=2',
    ]);
  });

  it('announce all for 30s while the data centres are down; withdrawn again when it expires', () => {
    const rig = consoleRig();
    rig.sim.runFor(1000);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(2000);
    expect(rig.routes().slice(2)).toEqual(WITHDRAW);
    rig.login();
    expect(rig.type('announce all for 30s\n')).toEqual(['OK announce all for 30s']);
    expect(rig.routes().slice(4)).toEqual(ANNOUNCE);
    expect(rig.type('status\n')[0]).toMatch(
      /state=announced auto=down override=announce\(30s\) pin=off healthy=0\/3/,
    );
    rig.sim.runFor(29999);
    expect(rig.routes().length).toBe(6);
    rig.sim.runFor(1);
    expect(rig.routes().slice(6)).toEqual(WITHDRAW);
    const events = rig.lifeline.audit.last(6).map((line) => line.split(' ').slice(2).join(' '));
    expect(events).toContain('override service=dns override=announce forMs=30000 by=console');
    expect(events).toContain('override service=dns override=none by=expiry');
  });

  it('withdraw drains a healthy service until auto; unknown services and durations are refused', () => {
    const rig = consoleRig();
    rig.sim.runFor(1000);
    rig.login();
    expect(rig.type('withdraw dns\n')).toEqual(['OK withdraw dns']);
    expect(rig.routes().slice(2)).toEqual(WITHDRAW);
    expect(rig.type('withdraw web\n')[0]).toMatch(/^ERR unknown-service "web"/);
    expect(rig.type('announce all for ever\n')[0]).toMatch(/^ERR bad-duration "ever"/);
    expect(rig.type('auto dns\n')).toEqual(['OK auto dns']);
    expect(rig.routes().slice(4)).toEqual(ANNOUNCE);
  });

  it('the pin overrides the console, both ways, and every edge is audited', () => {
    const rig = consoleRig();
    rig.sim.runFor(1000);
    rig.login();
    rig.type('withdraw all\n');
    rig.lifeline.setPin(true, 'driver=sysfs');
    expect(rig.routes().slice(4)).toEqual(ANNOUNCE);
    expect(rig.type('status\n')[0]).toMatch(/state=announced auto=up override=withdraw pin=on/);
    rig.lifeline.setPin(false, 'driver=sysfs');
    expect(rig.routes().slice(6)).toEqual(WITHDRAW);
    const pins = rig.lifeline.audit.last(20).filter((line) => line.includes(' pin '));
    expect(pins.map((line) => line.split(' ').slice(2).join(' '))).toEqual([
      'pin state=asserted action=announce driver=sysfs',
      'pin state=released action=announce driver=sysfs',
    ]);
  });

  it('keeps an override and its remaining time across a restart', () => {
    const first = consoleRig();
    first.sim.runFor(1000);
    first.sim.setAll({ behaviour: Behaviour.Silent });
    first.login();
    first.type('announce all for 60s\n');
    first.sim.runFor(20000);
    first.lifeline.stop();
    const sim = new SimHal({ socketsMax: 8, seed: 6 });
    Object.assign(sim.storage.files, first.sim.storage.files);
    sim.wallOffsetMs = first.sim.timeMs + 5000; // five seconds to reboot
    const second = consoleRig(sim);
    sim.setAll({ behaviour: Behaviour.Silent }); // the data centres are still down after the reboot
    expect(second.routes()).toEqual(ANNOUNCE); // at once: the override does not wait for the probes
    expect(second.type('status\n')[0]).toMatch(/override=announce\(35s\)/);
    second.sim.runFor(35000);
    expect(second.routes().slice(2)).toEqual(WITHDRAW);
    expect(second.lifeline.audit.last(50).join('\n')).toMatch(
      /override service=dns override=announce forMs=35000 by=restore/,
    );
  });

  it('ends an idle session after 5 minutes, and log N reads the audit back', () => {
    const rig = consoleRig();
    rig.login();
    rig.sim.runFor(5 * 60 * 1000 + 1);
    expect(rig.type('withdraw all\n')[0]).toMatch(/^ERR auth-required/);
    const lines = rig.type('log 3\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^INFO 2021-10-04T15:\d\d:\d\d\.\d{3}Z \d+ logout cause=idle$/);
    expect(lines[3]).toBe('OK');
  });

  it('survives a million random bytes: no exception, bounded buffers, every line answered', () => {
    const rig = consoleRig();
    let seed = 17;
    const chunk = new Uint8Array(1000);
    let replies = 0;
    let tooLong = 0;
    for (let round = 0; round < 1000; round++) {
      for (let i = 0; i < chunk.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        chunk[i] = seed >>> 24;
        // One chunk in ten has no line end: a line that runs past the bound (random bytes alone
        // almost never hold 256 printable ones between two line ends).
        if (round % 10 === 0 && (chunk[i] === 0x0a || chunk[i] === 0x0d)) chunk[i] = 0x41;
      }
      const out = rig.type(Buffer.from(chunk).toString('latin1'));
      replies += out.length;
      tooLong += out.filter((line) => line.startsWith('ERR line-too-long ')).length;
    }
    expect(replies).toBeGreaterThan(1000);
    // Each line past the bound is refused with its reason, and counted.
    expect(tooLong).toBeGreaterThanOrEqual(50);
    expect(rig.console.linesRejected).toBe(tooLong);
    rig.sim.runFor(1000);
    const out = rig.type('\r\nstatus\r\n'); // the random bytes may have left a partial line
    expect(out[out.length - 1]).toBe('OK');
  });
});

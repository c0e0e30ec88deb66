// The Linux side of the local lifeline under bad conditions: key and codes files that are missing
// or malformed, a pin file that vanishes, a stateDir that cannot be written, keygen's files.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { hashCode } from '../../firmware/auth';
import type { OverridePinConfig } from '../../firmware/config';
import { FileStorage } from '../../hal/node/storage';
import { Behaviour } from '../../hal/sim/index';
import { loadKey, loadRecoveryHashes } from '../../appliance/console';
import { createPinReader, PinWatcher } from '../../appliance/pin';
import { readClientKey } from '../../operator/console-client';
import { ServiceWatchdog } from '../../appliance/systemd';
import { printedCodes, simRig } from '../helpers';
import { waitFor } from '../support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-host-'));

describe('host: files and pins under bad conditions', () => {
  it('reads the key file, and says clearly why one cannot be used', () => {
    const reports: string[] = [];
    const report = (line: string): number => reports.push(line);
    const good = join(dir, 'good.key');
    writeFileSync(good, 'ab'.repeat(32) + '\n', { mode: 0o600 });
    expect(loadKey(good, report)).toEqual(new Uint8Array(32).fill(0xab));
    writeFileSync(join(dir, 'short.key'), 'abcd\n', { mode: 0o600 });
    expect(loadKey(join(dir, 'short.key'), report)).toBeNull();
    expect(loadKey(join(dir, 'missing.key'), report)).toBeNull();
    chmodSync(good, 0o644);
    expect(loadKey(good, report)).toBeNull(); // as ssh: a secret others can read is refused
    expect(reports).toEqual([
      'console: key file ' +
        join(dir, 'short.key') +
        ' must hold 64 hex characters (lifeline keygen makes one)',
      'console: key file ' +
        join(dir, 'missing.key') +
        ' cannot be read (ENOENT): HMAC auth is off',
      'console: key file ' +
        good +
        ' is open to group or others (mode 0644): run chmod 600 ' +
        good +
        ': HMAC auth is off',
    ]);
  });

  it("the operator's client refuses the key file as the appliance does: unreadable, short, open to others", () => {
    const good = join(dir, 'client.key');
    writeFileSync(good, 'cd'.repeat(32) + '\n', { mode: 0o600 });
    expect(readClientKey(good)).toEqual(Buffer.alloc(32, 0xcd));
    writeFileSync(join(dir, 'client-short.key'), 'abcd\n', { mode: 0o600 });
    expect(readClientKey(join(dir, 'client-short.key'))).toBe(
      'key file ' + join(dir, 'client-short.key') + ' must hold 64 hex characters',
    );
    expect(readClientKey(join(dir, 'absent.key'))).toBe(
      'key file ' + join(dir, 'absent.key') + ' cannot be read (ENOENT)',
    );
    chmodSync(good, 0o644);
    expect(readClientKey(good)).toBe(
      'key file ' + good + ' is open to group or others (mode 0644): run chmod 600 ' + good,
    );
    expect(readClientKey('/dev/zero')).toBe(
      'key file /dev/zero is a character device, not a regular file',
    );
  });

  it('refuses a key or codes file that is a FIFO or /dev/zero at once, in one line, instead of hanging', () => {
    const fifo = join(dir, 'key.fifo');
    spawnSync('mkfifo', [fifo]);
    const reports: string[] = [];
    const report = (line: string): number => reports.push(line);
    expect(loadKey(fifo, report)).toBeNull();
    expect(loadKey('/dev/zero', report)).toBeNull();
    expect(loadRecoveryHashes(fifo, report)).toEqual([]);
    expect(reports).toEqual([
      'console: key file ' + fifo + ' is a FIFO, not a regular file: HMAC auth is off',
      'console: key file /dev/zero is a character device, not a regular file: HMAC auth is off',
      'console: recovery codes file ' + fifo + ' is a FIFO, not a regular file',
    ]);
  });

  it('reads recovery code hashes, skipping and reporting lines that are not hashes', () => {
    const reports: string[] = [];
    writeFileSync(
      join(dir, 'codes'),
      '# comment\n' + hashCode('A') + '\nnot-a-hash\n\n' + hashCode('B') + '\n',
      { mode: 0o600 },
    );
    expect(loadRecoveryHashes(join(dir, 'codes'), (line) => reports.push(line))).toEqual([
      hashCode('A'),
      hashCode('B'),
    ]);
    expect(reports).toEqual([
      'console: ' + join(dir, 'codes') + ':3 is not a SHA-256 hash: skipped',
    ]);
  });

  it('reads a pin file holding exactly 0 or 1 (and a newline): "10", "1x" or a FIFO is no level', () => {
    const path = join(dir, 'strict-value');
    const pinAt = (file: string): OverridePinConfig => ({
      driver: 'sysfs',
      chip: null,
      line: 0,
      path: file,
      signal: null,
      pin: null,
      activeLow: false,
      debounceMs: 0,
      action: 'announce',
    });
    const reader = createPinReader(pinAt(path), null);
    const levels = ['1', '1\n', '0\n', '10', '1x', '01\n', ''].map((text) => {
      writeFileSync(path, text);
      return reader.read();
    });
    expect(levels).toEqual([1, 1, 0, -1, -1, -1, -1]);
    expect(reader.error).toBe(path + ' does not hold 0 or 1');
    const fifo = join(dir, 'pin.fifo');
    spawnSync('mkfifo', [fifo]);
    const onFifo = createPinReader(pinAt(fifo), null);
    expect(onFifo.read()).toBe(-1); // at once: a FIFO without a writer does not block the loop
  });

  it('a watchdog device that is a FIFO is reported at once, not waited on', () => {
    const fifo = join(dir, 'watchdog.fifo');
    spawnSync('mkfifo', [fifo]);
    const reports: string[] = [];
    const rig = simRig();
    const watchdog = new ServiceWatchdog(rig.lifeline, {
      notifySocket: null,
      watchdogMs: 0,
      device: fifo,
      report: (line) => reports.push(line),
    });
    watchdog.start();
    watchdog.stop();
    expect(reports).toEqual(['watchdog: cannot open ' + fifo + ' (ENXIO)']);
  });

  it('a pin file that keeps failing to read cannot flood the audit log', async () => {
    const path = join(dir, 'flaky-value');
    writeFileSync(path, '0\n');
    const rig = simRig();
    const pin: OverridePinConfig = {
      driver: 'sysfs',
      chip: null,
      line: 0,
      path,
      signal: null,
      pin: null,
      activeLow: false,
      debounceMs: 0,
      action: 'announce',
    };
    const watcher = new PinWatcher(
      pin,
      createPinReader(pin, null),
      (asserted, detail) => rig.lifeline.setPin(asserted, detail),
      (line) => rig.lifeline.audit.record('pin', 'problem="' + line + '"'),
      2,
    );
    try {
      for (let i = 0; i < 200; i++) {
        writeFileSync(path, i % 2 === 0 ? 'garbage' : '0\n');
        await new Promise((resolve) => setTimeout(resolve, 4));
      }
    } finally {
      watcher.stop();
    }
    const records = rig.sim.storage.files['audit.log']!.split('\n');
    expect(records.filter((line) => line.includes(' pin problem=')).length).toBeLessThanOrEqual(10);
    expect(rig.lifeline.audit.suppressedTotal).toBeGreaterThan(20);
  });

  it('watches a sysfs-style pin file: debounce, active-low, and a file that vanishes and comes back', async () => {
    const path = join(dir, 'value');
    writeFileSync(path, '1\n');
    const pin: OverridePinConfig = {
      driver: 'sysfs',
      chip: null,
      line: 0,
      path,
      signal: null,
      pin: null,
      activeLow: true,
      debounceMs: 30,
      action: 'announce',
    };
    const changes: string[] = [];
    const reports: string[] = [];
    const watcher = new PinWatcher(
      pin,
      createPinReader(pin, null),
      (asserted, detail) => changes.push(asserted + ' ' + detail),
      (line) => reports.push(line),
      5,
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(changes).toEqual([]); // 1 with activeLow: released at boot, nothing to report
      writeFileSync(path, '0\n');
      await new Promise((resolve) => setTimeout(resolve, 10));
      writeFileSync(path, '1\n'); // a 10 ms glitch: shorter than the debounce
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(changes).toEqual([]);
      writeFileSync(path, '0\n');
      await waitFor(() => changes.length === 1, 1000, 'the asserted edge');
      expect(changes[0]).toBe('true driver=sysfs raw=0');
      rmSync(path);
      await waitFor(() => reports.length === 1, 1000, 'the report of the vanished file');
      expect(reports[0]).toBe('pin: cannot read (' + path + ': ENOENT): keeping the last level');
      expect(changes).toHaveLength(1);
      writeFileSync(path, '1\n');
      await waitFor(() => changes.length === 2, 1000, 'the released edge');
      expect(changes[1]).toBe('false driver=sysfs raw=1');
      expect(reports[1]).toBe('pin: readable again');
    } finally {
      watcher.stop();
    }
  });

  it('follows a gpiochip line through gpioget and gpiomon (stand-ins on PATH: no GPIO in this kernel)', async () => {
    const bin = join(dir, 'bin');
    const events = join(dir, 'gpio-events');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'gpioget'), '#!/bin/sh\necho 0\n', { mode: 0o755 });
    writeFileSync(events, '');
    // gpiomon --num-events=0 --line-buffered --format=%e CHIP LINE: one event type (0/1) per line.
    writeFileSync(join(bin, 'gpiomon'), '#!/bin/sh\nexec tail -n +1 -f ' + events + '\n', {
      mode: 0o755,
    });
    const path = process.env['PATH'];
    process.env['PATH'] = bin + ':' + path;
    const pin: OverridePinConfig = {
      driver: 'gpiochip',
      chip: 'gpiochip0',
      line: 17,
      path: null,
      signal: null,
      pin: null,
      activeLow: false,
      debounceMs: 0,
      action: 'announce',
    };
    const changes: boolean[] = [];
    const watcher = new PinWatcher(
      pin,
      createPinReader(pin, null),
      (asserted) => changes.push(asserted),
      () => {},
      5,
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(changes).toEqual([]);
      writeFileSync(events, '1\n', { flag: 'a' });
      await waitFor(() => changes.length === 1, 2000, 'the rising edge');
      writeFileSync(events, '0\n', { flag: 'a' });
      await waitFor(() => changes.length === 2, 2000, 'the falling edge');
      expect(changes).toEqual([true, false]);
    } finally {
      watcher.stop();
      process.env['PATH'] = path;
    }
  });

  it('keeps overrides and the audit in memory when storage cannot be written, and says so once', () => {
    const rig = simRig({ rise: 1 });
    rig.sim.storage.failing = true;
    rig.lifeline.setOverride(-1, 2, 60000, 'console');
    rig.lifeline.setOverride(-1, 0, Infinity, 'console');
    expect(rig.sim.logged.filter((line) => line.startsWith('audit: cannot write'))).toHaveLength(1);
    const overrides = rig.lifeline.audit
      .last(10)
      .filter((line) => line.split(' ')[2] === 'override');
    expect(overrides.map((line) => line.split(' ').slice(4).join(' '))).toEqual([
      'override=withdraw forMs=60000 by=console',
      'override=none by=console',
    ]);
    rig.sim.setAll({ behaviour: Behaviour.Answer });
    rig.sim.runFor(1000);
    expect(rig.last()).toMatch(/^announce/);
  });

  it('treats FIFOs planted in the state directory as unreadable and unwritable, without blocking', () => {
    const state = join(dir, 'fifo-state');
    mkdirSync(state);
    for (const name of ['overrides.json', 'audit.log', 'overrides.json.tmp'])
      spawnSync('mkfifo', [join(state, name)]);
    const storage = new FileStorage(state, () => {});
    expect(storage.read('overrides.json')).toBeNull();
    expect(storage.readError).toBe('is a FIFO, not a regular file');
    expect(storage.read('absent')).toBeNull();
    expect(storage.readError).toBe('');
    expect(storage.appendLine('audit.log', 'record')).toBe(false);
    expect(storage.replace('overrides.json', '[]\n')).toBe(true); // over the FIFO, by rename
    expect(storage.read('overrides.json')).toBe('[]\n');
  });

  it('writes state files atomically and rotates the audit file at its bound; a bad stateDir fails softly', () => {
    const storage = new FileStorage(join(dir, 'state'), () => {}, 200);
    expect(storage.replace('overrides.json', '[1]\n')).toBe(true);
    expect(storage.read('overrides.json')).toBe('[1]\n');
    expect(statSync(join(dir, 'state', 'overrides.json')).mode & 0o777).toBe(0o600);
    for (let i = 0; i < 10; i++)
      expect(storage.appendLine('audit.log', 'record ' + i + ' ' + 'x'.repeat(40))).toBe(true);
    expect(
      readFileSync(join(dir, 'state', 'audit.log.1'), 'utf8').split('\n').length,
    ).toBeGreaterThan(2);
    expect(storage.read('audit.log')!.endsWith('record 9 ' + 'x'.repeat(40) + '\n')).toBe(true);
    writeFileSync(join(dir, 'not-a-dir'), '');
    const reports: string[] = [];
    const bad = new FileStorage(join(dir, 'not-a-dir'), (line) => reports.push(line));
    expect(bad.replace('overrides.json', '[]')).toBe(false);
    expect(bad.appendLine('audit.log', 'x')).toBe(false);
    expect(reports.join('\n')).toMatch(/cannot (create|write|append)/);
  });

  it('keygen writes a 0600 key and hashed codes, prints the codes once, and refuses to overwrite', () => {
    const run = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, ['dist/lifeline.mjs', 'keygen', ...args], { encoding: 'utf8' });
    const key = join(dir, 'k');
    const codes = join(dir, 'c');
    const made = run('--key-file', key, '--codes-file', codes, '--codes', '4');
    expect(made.status).toBe(0);
    const printed = printedCodes(made.stdout.toString());
    expect(printed).toHaveLength(4);
    for (const code of printed) expect(code).toMatch(/^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$/);
    // Numbered as the audit names them (code=N), the key by its fingerprint (key=...).
    expect(made.stdout.toString()).toContain('    4  ' + printed[3]);
    expect(readFileSync(codes, 'utf8').trim().split('\n')).toEqual(printed.map(hashCode));
    expect(readFileSync(key, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    const bytes = Buffer.from(readFileSync(key, 'utf8').trim(), 'hex');
    const fingerprint = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    expect(made.stdout.toString()).toContain('Key fingerprint: ' + fingerprint + '\n');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(codes).mode & 0o777).toBe(0o600);
    expect(run('--key-file', key, '--codes-file', codes).status).toBe(2);
    // --force over files left open to others: the new ones are 0600 all the same.
    chmodSync(key, 0o644);
    chmodSync(codes, 0o644);
    expect(run('--key-file', key, '--codes-file', codes, '--force').status).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(codes).mode & 0o777).toBe(0o600);
  });
});

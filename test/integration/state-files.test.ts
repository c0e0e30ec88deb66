// The state directory and the secrets as an attacker or a careless operator leaves them, against
// the real `lifeline run` (console on stdio, state on disk): state files planted as symbolic links
// are refused and never written or read through, two runs on one stateDir cannot both run (and a
// lock left by kill -9, another boot or a reused PID does not block the next start), and a console
// key, recovery codes or TCP MD5 secret that others can read stops `run` and `check-config` with
// the chmod to run. Loopback 127.0.14.0/24; nothing answers the probes or the BGP connection.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { validatedConfig } from '../../build/targets.mjs';
import { document, keygen } from '../helpers';
import { randomPort, stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';
const dir = mkdtempSync(join(tmpdir(), 'lifeline-state-files-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) await stopProcess(child, 'SIGKILL');
});

/** A config on 127.0.14.x with `stateDir`, the built-in speaker (to nobody) and extra keys. */
function configFile(name: string, stateDir: string, extra: Record<string, unknown> = {}): string {
  const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 2 }) as any;
  for (const target of doc.services[0].backbone.targets) {
    target.address = '127.0.14.5';
    target.port = randomPort();
  }
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [
      { address: '127.0.14.6', port: randomPort(), remoteAs: 65000, nextHopV4: '192.0.2.10' },
    ],
  };
  doc.services[0].prefixes = ['192.0.2.53/32'];
  doc.stateDir = stateDir;
  Object.assign(doc, extra);
  writeFileSync(join(dir, name), JSON.stringify(doc));
  return join(dir, name);
}

/** `lifeline run` with the console on stdio; `send` returns the replies to a line. */
function start(config: string) {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--console', 'stdio'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const send = async (line: string): Promise<string[]> => {
    out = '';
    child.stdin!.write(line + '\n');
    await waitFor(() => /(^|\n)(OK|ERR)[^\n]*\n/.test(out), 5000, line + '\n' + log);
    return out.split('\n').filter((reply) => reply !== '');
  };
  const booted = (): Promise<number> =>
    waitFor(() => log.includes('audit boot '), 5000, 'the boot record\n' + log);
  return { child, send, booted, exited, log: () => log };
}

describe('state files planted as symbolic links (O_NOFOLLOW)', () => {
  it('never appends, reads or creates through a link: refused with the reason, the loop runs on', async () => {
    const state = join(dir, 'links');
    mkdirSync(state);
    const codes = keygen(join(dir, 'links.key'), join(dir, 'links.codes'), 2);
    const victims: { [name: string]: string } = {};
    for (const name of ['audit.log', 'overrides.json']) {
      victims[name] = join(dir, 'victim-' + name);
      writeFileSync(victims[name]!, 'not yours: ' + name + '\n');
      symlinkSync(victims[name]!, join(state, name));
    }
    // A dangling link: opened for appending without O_NOFOLLOW, it creates its target.
    symlinkSync(join(dir, 'created-by-lifeline'), join(state, 'recovery-used'));
    const config = configFile('links.json', state, {
      console: { keyFile: join(dir, 'links.key'), recoveryCodesFile: join(dir, 'links.codes') },
    });
    const run = start(config);
    await run.booted();
    expect((await run.send('auth code ' + codes[0]))[0]).toMatch(
      /^ERR auth-unavailable .*recovery-used is a symbolic link, not a regular file/,
    );
    const key = readFileSync(join(dir, 'links.key'), 'utf8').trim();
    const challenge = /challenge=([0-9a-f]{32})/.exec((await run.send('auth')).join('\n'))![1]!;
    const answer = createHmac('sha256', Buffer.from(key, 'hex'))
      .update(Buffer.from(challenge, 'hex'))
      .digest('hex');
    expect(await run.send('auth ' + answer)).toEqual(['OK authenticated']);
    // overrides.json is replaced by renaming a file of our own over the link: never through it.
    expect(await run.send('withdraw all for 5m')).toEqual(['OK withdraw all for 5m']);
    const log = (await run.send('log 40')).join('\n');
    for (const name of ['audit.log', 'recovery-used', 'overrides.json'])
      expect(log).toContain('config problem="' + name + ' is a symbolic link, not a regular file');
    expect(run.log()).toMatch(/storage: cannot append to \S+audit\.log: it is a symbolic link/);
    expect(run.log().match(/storage: cannot append to \S+audit\.log/g)).toHaveLength(1); // once
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    for (const name of Object.keys(victims))
      expect(readFileSync(victims[name]!, 'utf8')).toBe('not yours: ' + name + '\n');
    expect(existsSync(join(dir, 'created-by-lifeline'))).toBe(false);
    expect(lstatSync(join(state, 'audit.log')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(state, 'overrides.json')).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(join(state, 'overrides.json'), 'utf8'))[0].kind).toBe(
      'withdraw',
    );
  });

  it('refuses a lockout.json link, and locks (fail closed) rather than believe its target', async () => {
    const state = join(dir, 'lockout-link');
    mkdirSync(state);
    const codes = keygen(join(dir, 'lockout.key'), join(dir, 'lockout.codes'), 1);
    writeFileSync(join(dir, 'victim-lockout'), '{"failures":0,"lockedForMs":0}\n');
    symlinkSync(join(dir, 'victim-lockout'), join(state, 'lockout.json'));
    const run = start(
      configFile('lockout.json', state, {
        console: { recoveryCodesFile: join(dir, 'lockout.codes') },
      }),
    );
    await run.booted();
    expect((await run.send('auth code ' + codes[0]))[0]).toMatch(/^ERR auth-locked /);
    expect((await run.send('log 20')).join('\n')).toContain(
      'config problem="lockout.json is a symbolic link, not a regular file (never followed ' +
        'here): locked for 300s"',
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(readFileSync(join(dir, 'victim-lockout'), 'utf8')).toBe(
      '{"failures":0,"lockedForMs":0}\n',
    );
  });
});

/** The lock line of a live process (the test's own): PID, boot ID and start time. */
function lockOf(pid: number, boot?: string, start?: string): string {
  const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
  const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return 'pid=' + pid + ' boot=' + (boot ?? bootId) + ' start=' + (start ?? ticks) + '\n';
}

describe('one lifeline per state directory', () => {
  it('refuses a second run (exit 2, naming the first PID); a kill -9 leaves no lasting lock', async () => {
    const state = join(dir, 'locked');
    const config = configFile('locked.json', state);
    const first = start(config);
    await first.booted();
    const second = start(config);
    expect(await second.exited).toBe(2);
    expect(second.log()).toBe(
      'lifeline run: stateDir ' +
        state +
        ' is in use by lifeline PID ' +
        first.child.pid +
        ' (' +
        join(state, 'lock') +
        '): one lifeline per state directory\n',
    );
    expect(first.child.exitCode).toBeNull();
    const audit = readFileSync(join(state, 'audit.log'), 'utf8');
    expect(audit.match(/ boot device=/g)).toHaveLength(1); // the second wrote nothing
    await stopProcess(first.child, 'SIGKILL');
    const third = start(config);
    await waitFor(() => third.log().includes('taken over'), 5000, 'the take-over\n' + third.log());
    expect(third.log()).toContain('pid=' + first.child.pid + ' boot=');
    expect(third.log()).toMatch(/is stale, its process gone: taken over/);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect(existsSync(join(state, 'lock'))).toBe(false); // released at a clean stop
  });

  it('takes over a lock from another boot, a reused PID, a torn write or a planted link', async () => {
    const state = join(dir, 'stale');
    mkdirSync(state);
    const config = configFile('stale.json', state);
    const lock = join(state, 'lock');
    writeFileSync(join(dir, 'lock-victim'), 'untouched\n');
    const stale: [string, () => void][] = [
      ['another boot (a power cut)', () => writeFileSync(lock, lockOf(process.pid, randomUUID()))],
      ['a reused PID', () => writeFileSync(lock, lockOf(process.pid, undefined, '1'))],
      ['a torn write', () => writeFileSync(lock, '')],
      ['a link', () => symlinkSync(join(dir, 'lock-victim'), lock)],
    ];
    for (const [what, plant] of stale) {
      plant();
      const run = start(config);
      await run.booted().catch((error: Error) => {
        throw new Error(what + ': ' + error.message);
      });
      run.child.kill('SIGTERM');
      expect(await run.exited, what + ' ' + run.child.signalCode + run.log()).toBe(0);
      expect(existsSync(lock), what).toBe(false);
    }
    expect(readFileSync(join(dir, 'lock-victim'), 'utf8')).toBe('untouched\n');
    // A live holder, whatever it is, is respected.
    writeFileSync(lock, lockOf(process.pid));
    const refused = start(config);
    expect(await refused.exited).toBe(2);
    expect(refused.log()).toContain('is in use by lifeline PID ' + process.pid + ' ');
  });

  it('lets exactly one of two runs started together over a stale lock through', async () => {
    const state = join(dir, 'race');
    mkdirSync(state);
    const config = configFile('race.json', state);
    for (let round = 0; round < 5; round++) {
      writeFileSync(join(state, 'lock'), lockOf(process.pid, randomUUID()));
      const runs = [start(config), start(config)];
      const refused = await Promise.race(runs.map((run, i) => run.exited.then(() => i)));
      expect(await runs[refused]!.exited).toBe(2);
      const winner = runs[1 - refused]!;
      await winner.booted();
      expect(runs[refused]!.log()).toContain('in use by lifeline PID ' + winner.child.pid + ' ');
      winner.child.kill('SIGTERM');
      expect(await winner.exited).toBe(0);
    }
  });
});

describe('secrets that group or others can read are refused (as ssh does)', () => {
  it('stops check-config and run with the chmod to run; 0600 passes', () => {
    keygen(join(dir, 'open.key'), join(dir, 'open.codes'), 1);
    writeFileSync(join(dir, 'open.secret'), 's3cret\n', { mode: 0o600 });
    const config = configFile('open.json', join(dir, 'open-state'), {
      console: { keyFile: join(dir, 'open.key'), recoveryCodesFile: join(dir, 'open.codes') },
    });
    const doc = JSON.parse(readFileSync(config, 'utf8'));
    doc.announcer.peers[0].passwordFile = join(dir, 'open.secret');
    writeFileSync(config, JSON.stringify(doc));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    expect(cli('check-config', config).status).toBe(0);
    chmodSync(join(dir, 'open.key'), 0o644);
    chmodSync(join(dir, 'open.codes'), 0o640);
    chmodSync(join(dir, 'open.secret'), 0o604);
    const expected = [
      ['console.keyFile', 'open.key', '0644'],
      ['console.recoveryCodesFile', 'open.codes', '0640'],
      ['announcer.peers[0].passwordFile', 'open.secret', '0604'],
    ].map(([path, name, mode]) => {
      const file = join(dir, name!);
      return (
        path +
        ': ' +
        file +
        ' is open to group or others (mode ' +
        mode +
        '): run chmod 600 ' +
        file
      );
    });
    const checked = cli('check-config', config);
    expect(checked.status).toBe(2);
    expect(checked.stderr.trimEnd().split('\n')).toEqual(expected);
    const ran = spawnSync(process.execPath, [CLI, 'run', '--config', config], {
      encoding: 'utf8',
      timeout: 10000,
    });
    expect(ran.status).toBe(2);
    expect(ran.stderr.trimEnd().split('\n')).toEqual(expected);
    expect(existsSync(join(dir, 'open-state'))).toBe(false); // nothing started
  });

  it('refuses them for a board too: the build and `flash --config` embed no open key', async () => {
    keygen(join(dir, 'board.key'), join(dir, 'board.codes'), 1);
    const doc = JSON.parse(readFileSync('config/espruino.example.json', 'utf8'));
    doc.console = { keyFile: join(dir, 'board.key'), recoveryCodesFile: join(dir, 'board.codes') };
    writeFileSync(join(dir, 'board.json'), JSON.stringify(doc));
    expect((await validatedConfig(join(dir, 'board.json'))).consoleKey).toMatch(/^[0-9a-f]{64}$/);
    chmodSync(join(dir, 'board.key'), 0o644);
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => lines.push(text) > 0) as typeof process.stderr.write;
    try {
      expect(await validatedConfig(join(dir, 'board.json'))).toBeNull();
    } finally {
      process.stderr.write = write;
    }
    const key = join(dir, 'board.key');
    expect(lines).toEqual([
      join(dir, 'board.json') +
        ': console.keyFile: ' +
        key +
        ' is open to group or others (mode 0644): run chmod 600 ' +
        key +
        '\n',
    ]);
  });
});

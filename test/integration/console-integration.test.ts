// The local lifeline end to end: `lifeline run` with its serial console on a real pseudo-terminal
// (a socat pair; the test opens the other end with `serialport`, as an operator's laptop would),
// the override pin as a sysfs-style file, the built-in BGP speaker to a real BIRD 2, and three
// dnsmasq data centres that the test silences. Every step is checked in BIRD's table and in the
// audit log.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { bgpAnnouncer, dnsTargets, document, keygen } from '../helpers';
import {
  randomPort,
  requireCommand,
  startBird,
  stopProcess,
  waitFor,
  type Bird,
} from '../support/peers';

const CLI = 'dist/lifeline.mjs';

/** One end of the console, as an operator's terminal: send a line, read replies to OK/ERR. */
class Terminal {
  private buffer = '';
  constructor(private readonly port: SerialPort) {
    port.on('data', (data: Buffer) => (this.buffer += data.toString('latin1')));
  }
  async command(line: string): Promise<string[]> {
    this.buffer = '';
    this.port.write(line + '\r\n');
    await waitFor(() => /(^|\n)(OK|ERR)[^\n]*\r?\n/.test(this.buffer), 5000, 'a reply to ' + line);
    return this.buffer.split(/\r?\n/).filter((text) => text !== '');
  }
}

describe('serial console and override pin, end to end with BIRD 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-console-'));
  const servers: Dnsmasq[] = [];
  let socat: ChildProcess;
  let bird: Bird;
  let lifeline: ChildProcess | null = null;
  let port: SerialPort;
  let terminal: Terminal;
  let codes: string[] = [];
  let log = '';

  const start = (): ChildProcess => {
    const child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'config.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    return child;
  };
  const present = (): boolean => bird.routes('t4').includes('192.0.2.53/32');
  const openTerminal = (): void => {
    port = new SerialPort({ path: join(dir, 'operator'), baudRate: 115200 });
    terminal = new Terminal(port);
  };
  const closeTerminal = (): Promise<void> => new Promise((resolve) => port.close(() => resolve()));
  const hmacLogin = async (): Promise<void> => {
    const challenge = /challenge=([0-9a-f]{32})/.exec(
      (await terminal.command('auth')).join('\n'),
    )![1]!;
    const key = Buffer.from(readFileSync(join(dir, 'console.key'), 'utf8').trim(), 'hex');
    const response = createHmac('sha256', key).update(Buffer.from(challenge, 'hex')).digest('hex');
    expect(await terminal.command('auth ' + response)).toEqual(['OK authenticated']);
  };
  const context = (): string => '\nlifeline log:\n' + log.slice(-3000);

  beforeAll(async () => {
    requireCommand('/usr/bin/socat', 'socat');
    socat = spawn('socat', [
      'pty,raw,echo=0,link=' + join(dir, 'ttyS0'),
      'pty,raw,echo=0,link=' + join(dir, 'operator'),
    ]);
    const dnsPort = randomPort();
    for (const address of ['127.0.0.51', '127.0.0.52', '127.0.0.53'])
      servers.push(await startDnsmasq(address, dnsPort));
    bird = await startBird({
      address: '127.0.0.2',
      port: randomPort(),
      as: 65000,
      peerAddress: '127.0.0.1',
      peerAs: 65010,
    });
    codes = keygen(join(dir, 'console.key'), join(dir, 'recovery-codes'), 3);
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 2, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = ['192.0.2.53/32'];
    doc.services[0].backbone.targets = dnsTargets(
      ['127.0.0.51', '127.0.0.52', '127.0.0.53'],
      dnsPort,
    );
    doc.announcer = bgpAnnouncer(bird.port, 9);
    doc.console = {
      device: join(dir, 'ttyS0'),
      keyFile: join(dir, 'console.key'),
      recoveryCodesFile: join(dir, 'recovery-codes'),
    };
    doc.overridePin = {
      driver: 'sysfs',
      path: join(dir, 'pin-value'),
      debounceMs: 20,
      action: 'announce',
    };
    doc.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'pin-value'), '0\n');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    await waitFor(
      () => spawnSync('test', ['-e', join(dir, 'operator')]).status === 0,
      5000,
      'the socat ptys',
    );
    lifeline = start();
    openTerminal();
    await waitFor(present, 15000, 'the routes while the data centres answer' + context());
  });

  afterAll(async () => {
    port?.close();
    await stopProcess(lifeline);
    await bird?.stop();
    for (const server of servers) await server.stop();
    socat?.kill();
  });

  it('the backbone dies: the routes are withdrawn, as they should be', async () => {
    for (const server of servers) server.pause();
    await waitFor(() => !present(), 5000, 'the withdrawal' + context());
  });

  it('authenticates with HMAC over the serial console; `announce all for 30s` brings the routes back', async () => {
    expect(await terminal.command('withdraw all')).toEqual([
      'ERR auth-required withdraw needs an authenticated session: auth first',
    ]);
    await hmacLogin();
    const sent = performance.now();
    expect(await terminal.command('announce all for 30s')).toEqual(['OK announce all for 30s']);
    await waitFor(present, 3000, 'the override in BIRD' + context());
    expect(performance.now() - sent).toBeLessThan(1000);
    expect((await terminal.command('status'))[0]).toMatch(
      /state=announced auto=down override=announce\(\d+s\) pin=off healthy=0\/3/,
    );
  });

  it('`auto` hands the decision back, and the routes go again', async () => {
    expect(await terminal.command('auto')).toEqual(['OK auto all']);
    await waitFor(() => !present(), 3000, 'the withdrawal after auto' + context());
    expect(await terminal.command('logout')).toEqual(['OK logged out']);
  });

  it('the operator client authenticates with a one-time recovery code, once', async () => {
    await closeTerminal(); // one reader per pty: the client's replies must not go to the test
    const client = (command: string): ReturnType<typeof spawnSync> =>
      spawnSync(
        process.execPath,
        [CLI, 'console', join(dir, 'operator'), '--code', codes[0]!, '--exec', command],
        { encoding: 'utf8', timeout: 15000 },
      );
    const first = client('announce all for 30s');
    expect(first.stdout.toString().trim(), first.stderr.toString()).toBe('OK announce all for 30s');
    expect(first.status).toBe(0);
    await waitFor(present, 3000, 'the override by recovery code' + context());
    const again = client('status');
    expect(again.status).toBe(1);
    expect(again.stderr.toString()).toMatch(/authentication failed: ERR auth-failed/);
    openTerminal();
    expect(await terminal.command('withdraw all')).toEqual([
      // the client logged out as it left
      'ERR auth-required withdraw needs an authenticated session: auth first',
    ]);
  });

  it('the pin overrides the console: asserted announces over a console withdraw, released withdraws again', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the reused code above cost 1 s of lockout
    await hmacLogin();
    expect(await terminal.command('withdraw all')).toEqual(['OK withdraw all']);
    await waitFor(() => !present(), 3000, 'the console withdrawal' + context());
    writeFileSync(join(dir, 'pin-value'), '1\n');
    await waitFor(present, 3000, 'the pin announcement' + context());
    writeFileSync(join(dir, 'pin-value'), '0\n');
    await waitFor(() => !present(), 3000, 'the pin release' + context());
  });

  it('a restart keeps the override and its remaining time, and the audit log shows every step', async () => {
    expect(await terminal.command('announce all for 60s')).toEqual(['OK announce all for 60s']);
    await waitFor(present, 3000, 'the override before the restart' + context());
    await stopProcess(lifeline); // SIGTERM: the routes are withdrawn and the session closed
    await waitFor(() => !present(), 5000, 'the withdrawal on stop' + context());
    lifeline = start();
    await waitFor(present, 10000, 'the restored override after the restart' + context());
    const status = (await terminal.command('status'))[0]!;
    const remaining = Number(/override=announce\((\d+)s\)/.exec(status)![1]);
    expect(remaining).toBeGreaterThan(40);
    expect(remaining).toBeLessThanOrEqual(60);
    const events = (await terminal.command('log 60')).join('\n');
    const key = Buffer.from(readFileSync(join(dir, 'console.key'), 'utf8').trim(), 'hex');
    for (const step of [
      // Who did it: the key by its fingerprint, a recovery code by its number in keygen's list.
      'auth-ok method=hmac key=' + createHash('sha256').update(key).digest('hex').slice(0, 16),
      'auth-ok method=recovery-code code=1',
      'auth-fail reason=recovery-code-used code=1',
      'override service=dns override=announce forMs=30000 by=console',
      'override service=dns override=none by=console',
      'pin state=asserted action=announce driver=sysfs',
      'pin state=released action=announce driver=sysfs',
      'routes service=dns routes=withdrawn cause=auto',
      'by=restore',
      'boot device=test-edge',
    ]) {
      expect(events, step).toContain(step);
    }
    expect(
      readFileSync(join(dir, 'state', 'audit.log'), 'utf8').split('\n').length,
    ).toBeGreaterThan(20);
  });

  it('the operator client is an interactive prompt too: commands in, replies out, logout on quit', async () => {
    await closeTerminal();
    const client = spawn(
      process.execPath,
      [CLI, 'console', join(dir, 'operator'), '--key-file', join(dir, 'console.key')],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    client.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => client.once('exit', resolve));
    client.stdin!.write('status\n');
    await waitFor(
      () => /INFO service=dns state=\w+[\s\S]*\nOK/.test(out),
      10000,
      'the status reply' + context(),
    );
    client.stdin!.write('quit\n');
    expect(await exited).toBe(0);
    expect(out).toMatch(/lifeline> /);
    openTerminal();
    expect(await terminal.command('withdraw all')).toEqual([
      'ERR auth-required withdraw needs an authenticated session: auth first',
    ]);
  });
});

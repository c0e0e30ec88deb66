// The `lifeline` command line as operators and ExaBGP use it: check-config's exit codes and lines,
// and `run` against three real DNS servers (dnsmasq) on loopback, with stdout read as ExaBGP reads
// it.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { NODE_BUNDLES } from '../../build/targets.mjs';
import { ANNOUNCE, document, SPEC_EXAMPLE } from '../helpers';
import { randomPort, stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';
const dir = mkdtempSync(join(tmpdir(), 'lifeline-cli-'));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** A secret's file: mode 0600, or `run` and `check-config` refuse it (as ssh would). */
function secret(name: string, text: string): string {
  writeFileSync(join(dir, name), text, { mode: 0o600 });
  return join(dir, name);
}

describe('lifeline check-config and usage', () => {
  it('exits 0 and prints nothing for the SPEC.md example', () => {
    expect(cli('check-config', file('spec.json', SPEC_EXAMPLE))).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('notes, on stdout and with exit 0, a drained service that the fleet guard cannot help', () => {
    const doc = document() as any;
    doc.services[0].drain = { med: 900 };
    doc.fleet = { siteCommunity: '65010:1', lastResortCommunity: '65010:666' };
    expect(cli('check-config', file('fleet.json', JSON.stringify(doc)))).toEqual({
      status: 0,
      stdout:
        'services[0].drain: note: a drained service is never withdrawn, so the fleet guard has ' +
        'nothing to do for it\n',
      stderr: '',
    });
  });

  it('prints one PATH: PROBLEM line per problem and exits 2', () => {
    const broken = document() as any;
    broken.services[0].backbone.targets[1].address = '10.1.0';
    broken.services[0].fall = -1;
    broken.probe.timeoutMs = 'soon';
    const result = cli('check-config', file('broken.json', JSON.stringify(broken)));
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n').sort()).toEqual([
      'probe.timeoutMs: "soon" must be an integer from 1 to 3600000',
      'services[0].backbone.targets[1].address: "10.1.0" is not an IPv4 or IPv6 address',
      'services[0].fall: -1 must be an integer from 1 to 1000',
    ]);
  });

  it('refuses a FIFO, /dev/zero, a directory and a nest 6,000 deep in one line each, exit 2, at once', () => {
    const fifo = join(dir, 'config.fifo');
    spawnSync('mkfifo', [fifo]);
    const started = performance.now();
    expect(cli('check-config', fifo)).toMatchObject({
      status: 2,
      stderr: fifo + ': is a FIFO, not a regular file\n',
    });
    expect(cli('check-config', '/dev/zero')).toMatchObject({
      status: 2,
      stderr: '/dev/zero: is a character device, not a regular file\n',
    });
    expect(cli('check-config', dir).stderr).toBe(dir + ': is a directory, not a regular file\n');
    const deep = '{"probe":{"intervalMs":' + '['.repeat(6000) + ']'.repeat(6000) + '}}';
    expect(cli('check-config', file('deep.json', deep))).toMatchObject({
      status: 2,
      stderr: 'config: nests deeper than 32 levels at line 1 column 54\n',
    });
    const big = file('big.json', '{"device":{"name":"' + 'x'.repeat(2 * 1024 * 1024) + '"}}');
    expect(cli('check-config', big).stderr).toBe(big + ': is larger than 1048576 bytes\n');
    expect(performance.now() - started).toBeLessThan(10000);
  });

  it('checks each TCP MD5 secret file on the host, and never prints the secret', () => {
    const doc = document() as any;
    const peer = { remoteAs: 65000, nextHopV4: '192.0.2.10', nextHopV6: '2001:db8::10' };
    const long = secret('long.secret', 'x'.repeat(81) + '\n');
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        { ...peer, address: '127.0.13.2', passwordFile: secret('good.secret', 's3cret-value\n') },
        { ...peer, address: '127.0.13.3', passwordFile: join(dir, 'absent.secret') },
        { ...peer, address: '127.0.13.4', passwordFile: long },
        { ...peer, address: '127.0.13.5', passwordFile: secret('empty.secret', '\n') },
      ],
    };
    const result = cli('check-config', file('md5.json', JSON.stringify(doc)));
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^announcer\.peers\[1\]\.passwordFile: \S+absent\.secret cannot be read: ENOENT/,
      ),
      'announcer.peers[2].passwordFile: ' + long + ' holds 81 bytes: a TCP MD5 key has at most 80',
      'announcer.peers[3].passwordFile: ' + join(dir, 'empty.secret') + ' is empty',
    ]);
    expect(result.stderr).not.toContain('s3cret-value');
    doc.announcer.peers = [doc.announcer.peers[0]];
    expect(cli('check-config', file('md5-good.json', JSON.stringify(doc))).status).toBe(0);
  });

  it('check-config --board warns when a probe round would take over half the interval', () => {
    // bench/m4-config.json: one service, three DNS targets, one BGP peer, 250 ms.
    // An ESP8266 (2.5x the emulated M4, assumed) cannot hold it; a Pico (1.3x) can, since the
    // round was made cheaper (issue 24 item 3: at 137 ms it warned here too).
    expect(cli('check-config', 'bench/m4-config.json', '--board', 'esp8266')).toEqual({
      status: 0,
      stdout:
        'probe.intervalMs: warning: on ESP8266 a probe round takes about 156 ms ' +
        'of CPU, 63% of the 250 ms interval (more than 50%): use 313 ms or more, or fewer ' +
        'targets\n',
      stderr: '',
    });
    for (const board of ['pico', 'esp32'])
      expect(cli('check-config', 'bench/m4-config.json', '--board', board)).toEqual({
        status: 0,
        stdout: '',
        stderr: '',
      });
    // What a board cannot do is a problem there, as flash --config says.
    const doc = JSON.parse(readFileSync('bench/m4-config.json', 'utf8'));
    doc.metrics = { listen: '127.0.0.1:9100' };
    const result = cli(
      'check-config',
      file('board-metrics.json', JSON.stringify(doc)),
      '--board',
      'pico',
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^metrics: not on Espruino/);
    expect(cli('check-config', 'bench/m4-config.json', '--board', 'z80').status).toBe(2);
  });

  it('treats missing files, unknown commands and flags as usage errors (exit 2), --help as exit 0', () => {
    expect(cli('check-config', join(dir, 'nope.json'))).toMatchObject({
      status: 2,
      stderr: join(dir, 'nope.json') + ': cannot be read (ENOENT)\n',
    });
    expect(cli('frobnicate').status).toBe(2);
    expect(cli('run', '--config').status).toBe(2);
    expect(cli('run', '--config', file('bad.json', '{')).stderr).toMatch(
      /^config: is not valid JSON/,
    );
    expect(cli('--help')).toMatchObject({ status: 0 });
    for (const command of ['run', 'check-config', 'reload', 'lab', 'bench']) {
      expect(cli(command, '--help').stdout).toMatch(/^usage: lifeline /);
    }
  });
});

describe('lifeline reload', () => {
  it('validates first (exit 2), then needs a running lifeline to signal (exit 1 without one)', () => {
    const doc = document() as Record<string, unknown>;
    expect(cli('reload').status).toBe(2);
    expect(cli('reload', '--config', file('r-bad.json', '{}')).stderr).toMatch(
      /^device: must be an object\n/,
    );
    expect(cli('reload', '--config', file('r-bad.json', '{}')).status).toBe(2);
    // Valid, but no stateDir to find the process by, and no --pid.
    expect(cli('reload', '--config', file('r.json', JSON.stringify(doc)))).toMatchObject({
      status: 1,
      stderr: 'lifeline reload: no running lifeline (give --pid, or a stateDir)\n',
    });
    // A stateDir that no lifeline holds.
    const held = JSON.stringify({ ...doc, stateDir: join(dir, 'r-state') });
    expect(cli('reload', '--config', file('r2.json', held)).status).toBe(1);
  });
});

describe('lifeline run --console stdio', () => {
  it("is refused with the ExaBGP announcer (stdout is ExaBGP's), and answers on stdio with BGP", async () => {
    const exabgp = file('stdio-exabgp.json', JSON.stringify(document()));
    const refused = cli('run', '--config', exabgp, '--console', 'stdio');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--console stdio: with announcer "exabgp" stdout is ExaBGP's/);
    const doc = document({ intervalMs: 100, timeoutMs: 80 }) as any;
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: '127.0.0.1',
          port: 1,
          remoteAs: 65000,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    };
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--config', file('stdio-bgp.json', JSON.stringify(doc)), '--console', 'stdio'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdin!.write('help\nstatus\n');
    await waitFor(() => /\nOK\n[\s\S]*\nOK\n/.test(out), 5000, 'two replies on stdout');
    expect(out).toMatch(/^INFO help/);
    expect(out).toMatch(
      /INFO service=dns state=\w+ auto=\w+ override=none pin=off .* bgp=(idle|connect)\n/,
    );
    await stopProcess(child);
  });
});

describe('lifeline start-up', () => {
  it('loads serialport and node:http only when used: no static import of them in the bundle', () => {
    // Statically imported, they cost every `run` ~45 ms before its first probe (bench/startup.ts).
    // The entry and the chunks it imports statically (transitively): what `run` loads.
    const imports: string[] = [];
    const pending = [CLI];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^import [^;]* from "([^"]+)";$/gm)) {
        if (imports.includes(match[1]!)) continue;
        imports.push(match[1]!);
        if (match[1]!.startsWith('./')) pending.push(join('dist', match[1]!));
      }
    }
    expect(imports.filter((name) => name.startsWith('node:')).length).toBeGreaterThan(3);
    expect(imports.filter((name) => name === 'serialport' || name === 'node:http')).toEqual([]);
  });
});

/**
 * `lifeline run` (the bundle at `cli`) on `config`, whose targets nobody answers: waits for the
 * boot's explicit withdrawal, stops it with SIGTERM, asserts a clean exit; returns its stderr.
 */
async function runUntilWithdrawn(cli: string, config: string): Promise<string> {
  const child = spawn(process.execPath, [cli, 'run', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await waitFor(() => out.includes('withdraw route 192.0.2.53/32'), 5000, 'the withdrawal\n' + log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return log;
}

describe('lifeline run without serialport', () => {
  it('probes and withdraws on when the serial console cannot load serialport, and says why', async () => {
    const alone = mkdtempSync(join(tmpdir(), 'lifeline-alone-')); // no node_modules to find
    // The bundle as released: the appliance's and the tools' beside it.
    for (const name of NODE_BUNDLES) copyFileSync(join('dist', name), join(alone, name));
    const doc = document({ intervalMs: 50, timeoutMs: 40, fall: 2 }) as any;
    for (const target of doc.services[0].backbone.targets) {
      target.address = '127.0.11.7';
      target.port = randomPort();
    }
    doc.console = { device: join(alone, 'ttyS0') };
    const log = await runUntilWithdrawn(
      join(alone, 'lifeline.mjs'),
      file('alone.json', JSON.stringify(doc)),
    );
    expect(log).toMatch(/console: .*ttyS0: cannot load serialport \(/);
  });
});

describe('lifeline run on a hostile state directory', () => {
  for (const [what, prepare] of [
    [
      'overrides.json = [null]',
      (state: string) => writeFileSync(join(state, 'overrides.json'), '[null]'),
    ],
    ['overrides.json a directory', (state: string) => mkdirSync(join(state, 'overrides.json'))],
    ['recovery-used a directory', (state: string) => mkdirSync(join(state, 'recovery-used'))],
  ] as const) {
    it(
      'boots with ' + what + ': probes, withdraws, says why, and stops cleanly on SIGTERM',
      async () => {
        const state = mkdtempSync(join(dir, 'state-'));
        prepare(state);
        const doc = document({ intervalMs: 50, timeoutMs: 40, fall: 2 }) as any;
        for (const target of doc.services[0].backbone.targets) {
          target.address = '127.0.11.2'; // nobody answers: the boot ends in an explicit withdrawal
          target.port = randomPort();
        }
        doc.stateDir = state;
        const log = await runUntilWithdrawn(CLI, file('state.json', JSON.stringify(doc)));
        if (what.startsWith('overrides'))
          expect(log).toMatch(/audit config problem="overrides\.json/);
      },
    );
  }
});

describe('lifeline lab (npm start)', () => {
  it('plays the October 2021 script with --scenario outage: each step, in order, timed; exit 0', () => {
    const result = cli('lab', '--scenario', 'outage');
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const steps = [
      /announced to the route collector after \d+\.\d ms/,
      /BACKBONE CUT/,
      /withdrawn after (\d+)\.\d ms/,
      /OK authenticated/,
      /OK announce all for 10m/,
      /re-announced by the override \d+\.\d ms after the command, with/,
      /backbone restored/,
      /automatic decision up again/,
      /OK auto all/,
      /routes stay announced, now automatically/,
    ];
    let at = 0;
    for (const step of steps) {
      const found = result.stdout.slice(at).search(step);
      expect(found, String(step)).toBeGreaterThanOrEqual(0);
      at += found;
    }
    // Withdrawn on the third unanswered round (fall 3) of every data centre, by the firmware's own
    // count: the time the lab prints from the cut is a figure, which a loaded machine stretches.
    const failed = 'failed=prn\\(timeout\\),ash\\(timeout\\),lla\\(timeout\\)';
    expect(result.stdout).toMatch(
      new RegExp(
        ' transition service=dns state=down reason=fall healthy=0/3 .* ' + failed + ' streak=3 ',
      ),
    );
    expect(result.stdout).toMatch(/auth-ok method=recovery-code/);
    expect(result.stdout.trimEnd().endsWith('PASS')).toBe(true);
  });

  it('runs the same script as `npm start` does without a terminal, and refuses unknown scenarios', () => {
    const result = cli('lab');
    expect(result.status).toBe(0);
    expect(result.stdout.trimEnd().endsWith('PASS')).toBe(true);
    expect(cli('lab', '--scenario', 'nonsense').status).toBe(2);
  });
});

describe('lifeline run with announcer exabgp, against three dnsmasq on loopback', () => {
  const INTERVAL_MS = 100;
  const TIMEOUT_MS = 80;
  const FALL = 3;
  const RISE = 2;
  const servers: Dnsmasq[] = [];
  let child: ChildProcess | null = null;
  const lines: { text: string; atMs: number }[] = [];
  let stderr = '';

  beforeAll(async () => {
    const port = randomPort();
    for (const address of ['127.0.0.21', '127.0.0.22', '127.0.0.23'])
      servers.push(await startDnsmasq(address, port));
    const doc = document({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      fall: FALL,
      rise: RISE,
      quorum: 2,
    }) as any;
    doc.services[0].backbone.targets = [
      {
        name: 'prn',
        kind: 'dns',
        address: '127.0.0.21',
        port,
        query: 'probe.test.',
        type: 'A',
        expectAddress: '203.0.113.53',
      },
      { name: 'ash', kind: 'dns', address: '127.0.0.22', port, query: 'probe.test.', type: 'AAAA' },
      { name: 'lla', kind: 'dns', address: '127.0.0.23', port, query: 'probe.test.', type: 'TXT' },
    ];
    child = spawn(
      process.execPath,
      [CLI, 'run', '--config', file('run.json', JSON.stringify(doc))],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const text of complete) lines.push({ text, atMs: performance.now() });
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(child);
    for (const server of servers) await server.stop();
  });

  it('announces once healthy, withdraws within the bound when quorum is lost, re-announces after rise', async () => {
    await waitFor(() => lines.length >= 2, 5000, 'the announcement');
    expect(lines.map((line) => line.text)).toEqual(ANNOUNCE);
    const cutMs = performance.now();
    servers[0]!.pause();
    servers[1]!.pause();
    await waitFor(() => lines.length >= 4, 5000, 'the withdrawal');
    const detectionMs = lines[2]!.atMs - cutMs;
    expect(lines.slice(2).map((line) => line.text)).toEqual([
      'withdraw route 192.0.2.53/32 next-hop self',
      'withdraw route 2001:db8:53::/48 next-hop self',
    ]);
    // From the first unanswered probe (logged as sinceMs) the bound is timeout + (fall-1)·interval:
    // the decision comes at the timeout of the fall-th unanswered round, neither a round early nor
    // a round late (its streak, a count). Where it lands around the bound is the event loop's and
    // the machine's (a few ms either way): a figure, which bench/e2e.ts measures.
    const sinceMs = Number(/state=down .*sinceMs=(\d+)/.exec(stderr)![1]);
    const figures =
      'sinceMs=' + sinceMs + ' detectionMs=' + detectionMs.toFixed(1) + ' log:\n' + stderr;
    console.log('lifeline run: withdrawn ' + figures.split(' log:')[0]);
    expect(stderr, figures).toMatch(
      /state=down reason=fall healthy=1\/3 quorum=2 local=none failed=prn\(timeout\),ash\(timeout\) streak=3 /,
    );
    const restoreMs = performance.now();
    servers[0]!.resume();
    servers[1]!.resume();
    await waitFor(() => lines.length >= 6, 5000, 'the re-announcement');
    expect(lines[4]!.text).toBe('announce route 192.0.2.53/32 next-hop self');
    // Announced on the rise-th answered round, by the firmware's count (at boot, and now).
    const ups = stderr.match(/state=up reason=rise healthy=3\/3 quorum=2 .* streak=2 /g) ?? [];
    expect(ups, stderr).toHaveLength(2);
    console.log(
      'lifeline run: re-announced ' + (lines[4]!.atMs - restoreMs).toFixed(1) + ' ms after',
    );
  });

  it('stops cleanly when its stdin pipe (ExaBGP) closes', async () => {
    const doc = document({ intervalMs: 100, timeoutMs: 80 });
    const orphan = spawn(
      process.execPath,
      [CLI, 'run', '--config', file('orphan.json', JSON.stringify(doc))],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let log = '';
    orphan.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(() => log.includes('boot'), 5000, 'the boot line');
    const exited = new Promise<number | null>((resolve) => orphan.once('exit', resolve));
    orphan.stdin!.end();
    expect(await exited).toBe(0);
    expect(log).toMatch(/signal stdin-closed\n.*shutdown routes=withdrawn/);
  });

  it('withdraws on SIGTERM, exits 0, and never wrote anything but ExaBGP lines on stdout', async () => {
    const exited = new Promise<number | null>((resolve) =>
      child!.once('exit', (code) => resolve(code)),
    );
    const before = lines.length;
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(() => lines.length >= before + 2, 1000, 'the shutdown withdrawal');
    expect(lines.slice(before).map((line) => line.text)).toEqual([
      'withdraw route 192.0.2.53/32 next-hop self',
      'withdraw route 2001:db8:53::/48 next-hop self',
    ]);
    for (const line of lines)
      expect(line.text).toMatch(/^(announce|withdraw) route \S+ next-hop self$/);
    expect(stderr).toMatch(/signal SIGTERM\n.*shutdown routes=withdrawn/);
  });
});

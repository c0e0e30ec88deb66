// The Linux appliance: Prometheus metrics scraped from a running firmware and parsed with a real
// text-format parser; the systemd notify and watchdog protocol on a real datagram socket (a
// stand-in for systemd's NOTIFY_SOCKET), a hardware watchdog device, and torn or corrupt state
// files.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { Lifeline } from '../../firmware/lifeline';
import { NodeHal } from '../../hal/node/index';
import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { ServiceWatchdog } from '../../appliance/systemd';
import { config, dnsTargets, document } from '../helpers';
import { randomPort, requireCommand, stopProcess, waitFor } from '../support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-appliance-'));

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('the appliance under systemd, with metrics', () => {
  const servers: Dnsmasq[] = [];
  let socat: ChildProcess;
  let child: ChildProcess;
  let datagrams = '';
  const metricsPort = randomPort();

  beforeAll(async () => {
    requireCommand('/usr/bin/socat', 'socat');
    requireCommand('/usr/bin/systemd-notify', 'systemd');
    requireCommand('/usr/bin/promtool', 'prometheus');
    const dnsPort = randomPort();
    for (const address of ['127.0.0.71', '127.0.0.72', '127.0.0.73'])
      servers.push(await startDnsmasq(address, dnsPort));
    socat = spawn('socat', ['-u', 'UNIX-RECV:' + join(dir, 'notify.sock'), 'STDOUT']);
    socat.stdout!.on('data', (chunk: Buffer) => (datagrams += chunk.toString() + '|'));
    await waitFor(() => existsSync(join(dir, 'notify.sock')), 3000, 'the notify socket');
    const doc = document({ intervalMs: 100, timeoutMs: 80, rise: 2 }) as any;
    doc.services[0].backbone.targets = dnsTargets(
      ['127.0.0.71', '127.0.0.72', '127.0.0.73'],
      dnsPort,
    );
    doc.metrics = { listen: '127.0.0.1:' + metricsPort };
    doc.watchdog = { device: join(dir, 'watchdog') };
    writeFileSync(join(dir, 'watchdog'), '');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    child = spawn(
      process.execPath,
      ['dist/lifeline.mjs', 'run', '--config', join(dir, 'config.json')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '400000' },
      },
    );
  });

  afterAll(async () => {
    await stopProcess(child ?? null);
    socat?.kill();
    for (const server of servers) await server.stop();
  });

  it('tells systemd it is ready, then feeds the watchdog while the loop runs', async () => {
    await waitFor(() => datagrams.includes('READY=1'), 5000, 'READY=1');
    expect(datagrams).toMatch(/STATUS=probing 1 services/);
    await waitFor(
      () => (datagrams.match(/WATCHDOG=1/g) ?? []).length >= 3,
      5000,
      'three WATCHDOG=1 (every 200 ms)',
    );
    await waitFor(
      () => readFileSync(join(dir, 'watchdog'), 'utf8').length >= 1,
      3000,
      'the device fed',
    );
  });

  it('serves Prometheus metrics that promtool accepts: probes, RTT histogram, service state', async () => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const text = await scrape(metricsPort);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).toBe(''); // no lint findings either
    const value = (pattern: string): number =>
      Number(new RegExp('^' + pattern + ' (\\S+)$', 'm').exec(text)![1]);
    expect(
      value('lifeline_probes_total\\{service="dns",target="dc0",result="healthy"\\}'),
    ).toBeGreaterThan(3);
    const count = value('lifeline_probe_rtt_seconds_count\\{service="dns",target="dc0"\\}');
    expect(
      value('lifeline_probe_rtt_seconds_bucket\\{service="dns",target="dc0",le="\\+Inf"\\}'),
    ).toBe(count);
    expect(
      value('lifeline_probe_rtt_seconds_bucket\\{service="dns",target="dc0",le="0\\.1"\\}'),
    ).toBe(count);
    expect(value('lifeline_service_announced\\{service="dns"\\}')).toBe(1);
    expect(text).toMatch(/^# TYPE lifeline_probe_rtt_seconds histogram$/m);
    expect(text).toMatch(/^lifeline_auth_failures_total 0$/m);
  });

  it('says STOPPING=1 and closes the watchdog device with the magic V on a clean stop', async () => {
    await stopProcess(child);
    await waitFor(() => datagrams.includes('STOPPING=1'), 3000, 'STOPPING=1');
    expect(readFileSync(join(dir, 'watchdog'), 'utf8').endsWith('V')).toBe(true);
  });
});

describe('watchdog feeding and state files', () => {
  it('feeds no watchdog when the loop has stopped ending rounds', () => {
    const built = config();
    const hal = new NodeHal({ log: () => {}, emit: () => {} });
    const lifeline = new Lifeline(built, hal, new ExaBgpAnnouncer(built, hal));
    const watchdog = new ServiceWatchdog(lifeline, {
      notifySocket: null,
      watchdogMs: 0,
      device: null,
      report: () => {},
    });
    lifeline.lastRoundEndMs[0] = hal.clock.nowMs();
    expect(watchdog.alive(hal.clock.nowMs())).toBe(true);
    expect(watchdog.alive(hal.clock.nowMs() + built.intervalMs + built.timeoutMs + 1001)).toBe(
      false,
    );
  });

  /** Boots a firmware whose state lives in `stateDir`, then stops it: what a restart reads. */
  function bootAndStop(stateDir: string): Lifeline {
    const built = config();
    const hal = new NodeHal({ log: () => {}, emit: () => {}, stateDir });
    const lifeline = new Lifeline(built, hal, new ExaBgpAnnouncer(built, hal));
    lifeline.start();
    lifeline.stop();
    hal.stopTimer();
    return lifeline;
  }

  it('starts with safe defaults and a clear audit record when the overrides file is corrupt', () => {
    const stateDir = join(dir, 'corrupt');
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'overrides.json'), '[{"service":"dns","kind":"annou');
    const lifeline = bootAndStop(stateDir);
    expect(lifeline.arbiter!.kind[0]).toBe(0);
    expect(readFileSync(join(stateDir, 'audit.log'), 'utf8')).toMatch(
      /config problem="overrides\.json is not valid JSON: overrides cleared"/,
    );
  });

  it('keeps the last complete overrides file when a write was torn before its rename', () => {
    const stateDir = join(dir, 'torn');
    mkdirSync(stateDir);
    writeFileSync(
      join(stateDir, 'overrides.json'),
      '[{"service":"dns","kind":"withdraw","expiresAtWallMs":null}]\n',
    );
    writeFileSync(join(stateDir, 'overrides.json.tmp'), '[{"service":"dns","ki'); // the power cut
    const lifeline = bootAndStop(stateDir);
    expect(lifeline.arbiter!.kind[0]).toBe(2);
  });
});

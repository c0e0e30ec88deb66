// A reload of a real `lifeline run --config FILE --config-dir DIR` (issue 22 item 3) peering with two
// real BIRD 2 routers, one of whose tables is sampled every 2 ms over its control socket (and whose
// log records every route change): the unchanged service's route never leaves the router, the
// removed service's is withdrawn, the added one comes after its `rise`, a changed service keeps
// its route and probes its new targets from the next round, the unchanged peer keeps its session
// and the changed one is re-established. An invalid config changes nothing (its problems on
// stderr and in the audit, the metrics' config hash kept). Loopback 127.0.16.0/24.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { PresenceSampler } from '../../lab/fleet-router';
import { randomPort, startBird, stopProcess, waitFor, type Bird } from '../support/peers';

const CLI = 'dist/lifeline.mjs';
const LIFELINE = '127.0.16.1';
const PREFIX = { dns: '192.0.2.53/32', web: '192.0.2.80/32', old: '192.0.2.99/32' };
const NTP = '192.0.2.123/32';

/** dnsmasq answers here (a process of its own: the test's loop may block); nothing at SILENT. */
const HEALTHY = '127.0.16.10';
const SILENT = '127.0.16.11';

/** A service of one DNS target, announcing `prefix`. */
function service(name: string, prefix: string, address: string, port: number, rise = 2) {
  const target = { name: 'dc', kind: 'dns', address, port, query: 'probe.test.' };
  return { name, prefixes: [prefix], backbone: { quorum: 1, targets: [target] }, rise, fall: 2 };
}

function peer(bird: Bird, address: string, holdTimeS: number) {
  return {
    address,
    port: bird.port,
    remoteAs: 65000,
    holdTimeS,
    localAddress: LIFELINE,
    nextHopV4: '192.0.2.10',
  };
}

function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: LIFELINE, port, path: '/metrics' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

const hashOf = (text: string): string => /lifeline_config_info\{[^}]*hash="(\w+)"/.exec(text)![1]!;

describe('reload against two real BIRD 2 routers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-reload-'));
  const servicesDir = join(dir, 'services.d');
  const configFile = join(dir, 'config.json');
  let birdA: Bird;
  let birdB: Bird;
  let dns: Dnsmasq;
  const dnsPort = randomPort();
  let child: ChildProcess;
  let log = '';
  let sampler: PresenceSampler;
  const metricsPort = randomPort();
  const context = (): string => '\nlifeline log:\n' + log.slice(-4000);
  const established = (address: string): number =>
    log
      .split('\n')
      .filter(
        (line) => line.includes('bgp peer=' + address + ':') && line.includes('state=established'),
      ).length;
  const routes = (bird: Bird): string => bird.routes('t4');

  const writeMain = (holdTimeB: number): void => {
    const main = {
      $schema: 'lifeline.schema.json',
      device: { name: 'reload-test' },
      probe: { intervalMs: 100, timeoutMs: 80 },
      announcer: {
        kind: 'bgp',
        localAs: 65010,
        routerId: '192.0.2.10',
        peers: [peer(birdA, '127.0.16.2', 9), peer(birdB, '127.0.16.3', holdTimeB)],
      },
      stateDir: join(dir, 'state'),
      metrics: { listen: LIFELINE + ':' + metricsPort },
    };
    writeFileSync(configFile, JSON.stringify(main, null, 2));
  };
  const writeService = (file: string, value: unknown): void =>
    writeFileSync(join(servicesDir, file), JSON.stringify(value, null, 2));
  /** `lifeline reload` with the run's arguments, not blocking the test's loop. */
  const reloadCli = (): Promise<{ status: number | null; stderr: string }> =>
    new Promise((resolve) => {
      const args = [CLI, 'reload', '--config', configFile, '--config-dir', servicesDir];
      const cli = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      cli.on('exit', (status) => resolve({ status, stderr }));
    });
  const applied = (): number => (log.match(/audit reload result=applied/g) ?? []).length;

  beforeAll(async () => {
    dns = await startDnsmasq(HEALTHY, dnsPort);
    const bird = (address: string) =>
      startBird({
        address,
        port: randomPort(),
        as: 65000,
        peerAddress: LIFELINE,
        peerAs: 65010,
        debugRoutes: true,
      });
    birdA = await bird('127.0.16.2');
    birdB = await bird('127.0.16.3');
    mkdirSync(servicesDir);
    writeMain(9);
    writeService('10-dns.json', service('dns', PREFIX.dns, HEALTHY, dnsPort));
    writeService('20-web.json', service('web', PREFIX.web, HEALTHY, dnsPort));
    writeService('30-old.json', service('old', PREFIX.old, HEALTHY, dnsPort));
    child = spawn(
      process.execPath,
      [CLI, 'run', '--config', configFile, '--config-dir', servicesDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (log += 'STDOUT ' + chunk.toString()));
    const all = () =>
      Object.values(PREFIX).every(
        (prefix) => routes(birdA).includes(prefix) && routes(birdB).includes(prefix),
      );
    await waitFor(all, 15000, 'every route at both routers' + context());
    sampler = new PresenceSampler(join(birdA.dir, 'bird.ctl'), PREFIX.dns, 2);
    await sampler.start();
  });

  afterAll(async () => {
    sampler?.stop();
    await stopProcess(child);
    await birdA?.stop();
    await birdB?.stop();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an invalid config: nothing changes, its problems on stderr and in the audit, the hash kept', async () => {
    const hash = hashOf(await metrics(metricsPort));
    const bad = service('bad', '192.0.2.1/33', HEALTHY, dnsPort);
    writeService('40-bad.json', bad);
    const cli = await reloadCli();
    expect(cli.status, cli.stderr).toBe(2);
    expect(cli.stderr).toContain('40-bad.json: service.prefixes[0]:');
    // The running lifeline reads it too when signalled: refused there as well.
    child.kill('SIGHUP');
    const refusals = (): number => (log.match(/the running config \(\w+\) stays/g) ?? []).length;
    await waitFor(() => refusals() === 1, 5000, 'the refusal' + context());
    expect(log).toMatch(/lifeline reload: \S*40-bad\.json: service\.prefixes\[0\]: /);
    expect(log).toMatch(/lifeline reload: refused, the running config \(\w+\) stays/);
    expect(hashOf(await metrics(metricsPort))).toBe(hash);
    const audit = readFileSync(join(dir, 'state', 'audit.log'), 'utf8');
    expect(audit).toMatch(
      / reload result=refused by=SIGHUP problem="\S*40-bad\.json: service\.prefixes\[0\]: /,
    );
    rmSync(join(servicesDir, '40-bad.json'));
    // A change only a restart takes is refused the same way.
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('reload-test', 'renamed'));
    child.kill('SIGHUP');
    await waitFor(() => refusals() === 2, 5000, 'the refusal' + context());
    expect(log).toContain('lifeline reload: device: changed: takes a restart');
    writeMain(9);
    expect(applied()).toBe(0);
    expect(
      Object.values(PREFIX).every((prefix) => routes(birdA).includes(prefix)),
      routes(birdA) + context(),
    ).toBe(true);
  });

  it('applies a valid config without a flap: unchanged kept, removed withdrawn, added after its rise', async () => {
    const hash = hashOf(await metrics(metricsPort));
    const birdLogBefore = birdA.log().length;
    const fromMs = Date.now();
    // web: its one target now one that never answers (a changed target); old: gone; ntp: new;
    // the second peer's hold time changed (re-established), the first peer as it was.
    writeService('20-web.json', service('web', PREFIX.web, SILENT, dnsPort));
    rmSync(join(servicesDir, '30-old.json'));
    writeService('30-ntp.json', service('ntp', NTP, HEALTHY, dnsPort, 3));
    writeMain(12);
    const cli = await reloadCli();
    expect(cli.status, cli.stderr).toBe(0);
    await waitFor(() => applied() === 1, 5000, 'the reload applied' + context());
    const record = new RegExp(
      'audit reload result=applied by=SIGHUP hash=(\\w+) added=ntp removed=old changed=web ' +
        'peers-kept=1 peers-restarted=1 waitedMs=(\\d+) applyMs=([\\d.]+)',
    ).exec(log);
    expect(record, context()).not.toBeNull();
    expect(record![1]).not.toBe(hash);
    await waitFor(() => !routes(birdA).includes(PREFIX.old), 5000, 'old withdrawn' + context());
    // The added service: no route before its rise (3 rounds of 100 ms), then announced.
    await waitFor(() => routes(birdA).includes(NTP), 5000, 'ntp announced' + context());
    // Its stderr line may come after BIRD has the route: waited for, not expected at once.
    const seen = (pattern: RegExp) => () => pattern.test(log);
    await waitFor(seen(/audit transition service=ntp state=up reason=rise/), 2000, 'ntp up');
    // The changed service keeps its route, then its new (silent) target fails it: withdrawn.
    await waitFor(() => !routes(birdA).includes(PREFIX.web), 5000, 'web withdrawn' + context());
    await waitFor(
      seen(/audit transition service=web state=down reason=fall healthy=0\/1/),
      2000,
      'web down',
    );
    // The second peer re-established, routes and all; the first never left Established.
    await waitFor(() => established('127.0.16.3') === 2, 10000, 'B again' + context());
    await waitFor(
      () => routes(birdB).includes(NTP) && routes(birdB).includes(PREFIX.dns),
      10000,
      'B routes' + context(),
    );
    expect(established('127.0.16.2')).toBe(1);
    expect(hashOf(await metrics(metricsPort))).toBe(record![1]);
    const toMs = Date.now();
    // The unchanged service's route: sampled all along, never absent; BIRD's log agrees.
    expect(sampler.samples).toBeGreaterThan((toMs - fromMs) / 50);
    const absentMs = sampler.absentMs(fromMs, toMs);
    const birdLog = birdA.log().slice(birdLogBefore);
    console.log(
      'reload: waited ' +
        record![2] +
        ' ms for the round out, applied in ' +
        record![3] +
        ' ms; ' +
        PREFIX.dns +
        ' absent ' +
        absentMs +
        ' ms at BIRD over ' +
        (toMs - fromMs) +
        ' ms (' +
        sampler.samples +
        ' samples)',
    );
    expect(absentMs).toBe(0);
    expect(birdLog).toContain(PREFIX.old);
    expect(birdLog.split('\n').filter((line) => line.includes(PREFIX.dns))).toEqual([]);
  });

  it('a reload of the same files changes nothing at the router', async () => {
    const birdLogBefore = birdA.log().length;
    const fromMs = Date.now();
    child.kill('SIGHUP');
    await waitFor(() => applied() === 2, 5000, 'the second reload' + context());
    expect(log).toMatch(
      /audit reload result=applied by=SIGHUP hash=\w+ added=- removed=- changed=- peers-kept=2 peers-restarted=0/,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sampler.absentMs(fromMs, Date.now())).toBe(0);
    expect(birdA.log().slice(birdLogBefore)).not.toMatch(/192\.0\.2\.\d+\/32/);
    expect(established('127.0.16.2')).toBe(1);
    expect(established('127.0.16.3')).toBe(2);
  });
});

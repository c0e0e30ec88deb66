// The fleet guard with the ExaBGP announcer, end to end (issue 12): BIRD 2 holds two other sites'
// routes for our prefixes and sends every path to ExaBGP with ADD-PATH; ExaBGP runs `lifeline run`
// and passes the received UPDATEs to it as JSON (host/exabgp-fleet.ts). Lifeline's data centres
// are unreachable, so its decision is down: with two other sites it stays withdrawn; when BIRD's
// two sites go, it holds as last resort, and its route reaches BIRD with the last-resort community
// and MED; when a site comes back, it withdraws again.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { document } from './helpers';
import { startFleetBird, type FleetBird } from './support/fleet-bird';
import { randomPort, requireCommand, stopProcess, waitFor } from './support/peers';

const BIRD_ADDRESS = '127.0.12.4';
const EXABGP_ADDRESS = '127.0.12.3';

describe('fleet guard through ExaBGP and BIRD 2', () => {
  let bird: FleetBird;
  let exabgp: ChildProcess | null = null;
  let exabgpLog = '';
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-exa-fleet-'));
  const metricsPort = randomPort();

  beforeAll(async () => {
    requireCommand('/usr/sbin/exabgp', 'exabgp');
    const port = randomPort();
    bird = await startFleetBird({ address: BIRD_ADDRESS, neighbor: EXABGP_ADDRESS, port });
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 2, rise: 2, quorum: 1 }) as any;
    doc.services[0].prefixes = ['192.0.2.53/32'];
    doc.services[0].backbone.targets = [
      { name: 'dc', kind: 'tcp', address: '127.0.12.9', port: randomPort() },
    ];
    doc.announcer = { kind: 'exabgp', nextHopV4: EXABGP_ADDRESS, nextHopV6: '::1' };
    doc.fleet = {
      siteCommunity: '65010:1',
      lastResortCommunity: '65010:666',
      lastResortMed: 700,
    };
    doc.metrics = { listen: EXABGP_ADDRESS + ':' + metricsPort };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    const command =
      process.execPath +
      ' ' +
      resolve('dist/lifeline.mjs') +
      ' run --config ' +
      join(dir, 'config.json');
    writeFileSync(
      join(dir, 'exabgp.conf'),
      `process lifeline {
  run ${command};
  encoder json;
}
neighbor ${BIRD_ADDRESS} {
  connect ${port};
  router-id ${EXABGP_ADDRESS};
  local-address ${EXABGP_ADDRESS};
  local-as 65010;
  peer-as 65000;
  hold-time 9;
  family { ipv4 unicast; ipv6 unicast; }
  capability { add-path receive; }
  api { processes [ lifeline ]; neighbor-changes; receive { parsed; update; } }
}
`,
    );
    const env = {
      ...process.env,
      'exabgp.daemon.user': execFileSync('id', ['-un'], { encoding: 'utf8' }).trim(),
      'exabgp.daemon.drop': 'false',
      'exabgp.log.destination': 'stdout',
      'exabgp.tcp.bind': '',
      'exabgp.api.cli': 'false',
    };
    exabgp = spawn('/usr/sbin/exabgp', [join(dir, 'exabgp.conf')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exabgp.stdout!.on('data', (chunk: Buffer) => (exabgpLog += chunk.toString()));
    exabgp.stderr!.on('data', (chunk: Buffer) => (exabgpLog += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(exabgp);
    await bird?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const context = (): string =>
    '\nexabgp log:\n' + exabgpLog.slice(-4000) + '\nBIRD log:\n' + bird.log();
  let metrics = '';
  const metric = async (name: string): Promise<number> => {
    try {
      const response = await fetch('http://' + EXABGP_ADDRESS + ':' + metricsPort + '/metrics');
      metrics = await response.text();
    } catch {
      return NaN;
    }
    const match = new RegExp('^lifeline_' + name + '\\{service="dns"\\} (\\S+)$', 'm').exec(
      metrics,
    );
    return match === null ? NaN : Number(match[1]);
  };
  /** Our route in BIRD (protocol fw), or '' while there is none. */
  const ours = (): string => {
    const routes = bird.birdc('show', 'route', 'table', 't4', 'protocol', 'fw', 'all');
    return routes.includes('192.0.2.53/32') ? routes : '';
  };

  it('sees the two other sites through ExaBGP, and stays withdrawn while they announce', async () => {
    let others = NaN;
    await waitFor(
      async () => (others = await metric('fleet_healthy_sites')) === 2,
      20000,
      'two other sites (last ' + others + ')' + context(),
    );
    expect(await metric('fleet_view_known')).toBe(1);
    expect(await metric('service_auto_up')).toBe(0);
    expect(await metric('guard_holding')).toBe(0);
    expect(ours()).toBe('');
  });

  it('holds as last resort when the other sites go, and withdraws when one is back', async () => {
    for (const name of ['s2_ipv4', 's3_ipv4']) bird.birdc('disable', name);
    await waitFor(() => ours() !== '', 10000, 'our last-resort route in BIRD' + context());
    expect(ours()).toMatch(/BGP\.community: \(65010,1\) \(65010,666\)/);
    expect(ours()).toMatch(/BGP\.med: 700/);
    expect(await metric('guard_holding')).toBe(1);
    bird.birdc('enable', 's2_ipv4');
    await waitFor(() => ours() === '', 10000, 'the release' + context());
    expect(await metric('fleet_healthy_sites')).toBe(1);
  });
});

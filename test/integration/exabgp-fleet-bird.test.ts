// The fleet guard with the ExaBGP announcer, end to end (issue 12): BIRD 2 holds two other sites'
// routes for our prefixes and sends every path to ExaBGP with ADD-PATH; ExaBGP runs `lifeline run`
// and passes the received UPDATEs to it as JSON (appliance/exabgp-fleet.ts). Lifeline's data centres
// are unreachable, so its decision is down: with two other sites it stays withdrawn; when BIRD's
// two sites go, it holds as last resort, and its route reaches BIRD with the last-resort community
// and MED; when a site comes back, it withdraws again.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { document } from '../helpers';
import { startFleetBird, type FleetBird } from '../support/fleet-bird';
import {
  lifelineRunCommand,
  randomPort,
  startExaBgp,
  waitFor,
  type ExaBgp,
} from '../support/peers';

const BIRD_ADDRESS = '127.0.12.4';
const EXABGP_ADDRESS = '127.0.12.3';

describe('fleet guard through ExaBGP and BIRD 2', () => {
  let bird: FleetBird;
  let exabgp: ExaBgp | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-exa-fleet-'));
  const metricsPort = randomPort();

  beforeAll(async () => {
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
    exabgp = startExaBgp({
      peerAddress: BIRD_ADDRESS,
      peerPort: port,
      localAddress: EXABGP_ADDRESS,
      as: 65010,
      peerAs: 65000,
      processCommand: lifelineRunCommand(join(dir, 'config.json')),
      fleetView: true,
    });
  });

  afterAll(async () => {
    await exabgp?.stop();
    await bird?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const context = (): string =>
    '\nexabgp log:\n' + (exabgp?.log() ?? '').slice(-4000) + '\nBIRD log:\n' + bird.log();
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

// Lifeline as ExaBGP's process, ExaBGP peering with a real BIRD 2 on loopback: the routes appear in
// BIRD's tables when the data centres (real dnsmasq servers) answer, and leave them when they stop.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { dnsTargets, document } from '../helpers';
import {
  lifelineRunCommand,
  randomPort,
  startBird,
  startExaBgp,
  waitFor,
  type Bird,
  type ExaBgp,
} from '../support/peers';

describe('ExaBGP runs lifeline and peers with BIRD 2', () => {
  const servers: Dnsmasq[] = [];
  let bird: Bird;
  let exabgp: ExaBgp;

  beforeAll(async () => {
    const dnsPort = randomPort();
    for (const address of ['127.0.0.31', '127.0.0.32', '127.0.0.33'])
      servers.push(await startDnsmasq(address, dnsPort));
    const bgpPort = randomPort();
    bird = await startBird({
      address: '127.0.0.2',
      port: bgpPort,
      as: 65000,
      peerAddress: '127.0.0.1',
      peerAs: 65001,
    });
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].backbone.targets = dnsTargets(
      ['127.0.0.31', '127.0.0.32', '127.0.0.33'],
      dnsPort,
    );
    // Debian's ExaBGP 4.2.21 sends `next-hop self` from an API process without a NEXT_HOP (BIRD
    // drops the route as invalid): the explicit next hops of the exabgp announcer avoid that.
    doc.announcer = { kind: 'exabgp', nextHopV4: '127.0.0.1', nextHopV6: '::1' };
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-exa-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    exabgp = startExaBgp({
      peerAddress: '127.0.0.2',
      peerPort: bgpPort,
      localAddress: '127.0.0.1',
      as: 65001,
      peerAs: 65000,
      processCommand: lifelineRunCommand(join(dir, 'config.json')),
    });
  });

  afterAll(async () => {
    await exabgp?.stop();
    await bird?.stop();
    for (const server of servers) await server.stop();
  });

  const present = (): boolean =>
    bird.routes('t4').includes('192.0.2.53/32') && bird.routes('t6').includes('2001:db8:53::/48');
  const absent = (): boolean =>
    !bird.routes('t4').includes('192.0.2.53/32') && !bird.routes('t6').includes('2001:db8:53::/48');

  it('the anycast prefixes appear in BIRD with our AS path and next hops', async () => {
    await waitFor(
      () => bird.established(),
      15000,
      'the BGP session (exabgp log:\n' + exabgp.log() + ')',
    );
    await waitFor(present, 10000, 'both routes in BIRD');
    expect(bird.routes('t4')).toMatch(/BGP\.as_path: 65001\n[\s\S]*BGP\.next_hop: 127\.0\.0\.1/);
    expect(bird.routes('t6')).toMatch(/BGP\.as_path: 65001\n[\s\S]*BGP\.next_hop: ::1/);
  });

  it('they leave BIRD when two of three data centres fall silent, and come back when they answer', async () => {
    servers[0]!.pause();
    servers[1]!.pause();
    const goneMs = await waitFor(absent, 5000, 'the withdrawal in BIRD');
    servers[0]!.resume();
    servers[1]!.resume();
    const backMs = await waitFor(present, 5000, 'the re-announcement in BIRD');
    expect(goneMs).toBeLessThan(2000);
    expect(backMs).toBeLessThan(2000);
  });

  it('they leave BIRD when ExaBGP and lifeline stop', async () => {
    await exabgp.stop();
    await waitFor(absent, 5000, 'the routes to leave BIRD');
  });
});

// The built-in BGP speaker against a real BIRD 2 (passive, on loopback): `lifeline run` with
// announcer "bgp" probes three real DNS servers (dnsmasq) and announces an IPv4 /32 and an IPv6
// /128.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { bgpAnnouncer, dnsTargets, document } from '../helpers';
import {
  randomPort,
  startBird,
  stopProcess,
  waitFor,
  type Bird,
  type BirdOptions,
} from '../support/peers';

describe('built-in BGP speaker against BIRD 2', () => {
  const servers: Dnsmasq[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-bgp-'));
  let birdOptions: BirdOptions;
  let bird: Bird;
  let lifeline: ChildProcess | null = null;
  let log = '';

  function startLifeline(): ChildProcess {
    const child = spawn(
      process.execPath,
      ['dist/lifeline.mjs', 'run', '--config', join(dir, 'config.json')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (log += 'STDOUT ' + chunk.toString()));
    return child;
  }

  beforeAll(async () => {
    const dnsPort = randomPort();
    for (const address of ['127.0.0.41', '127.0.0.42', '127.0.0.43'])
      servers.push(await startDnsmasq(address, dnsPort));
    birdOptions = {
      address: '127.0.0.2',
      port: randomPort(),
      as: 65000,
      peerAddress: '127.0.0.1',
      peerAs: 65010,
    };
    bird = await startBird(birdOptions);
    birdOptions.dir = bird.dir;
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = ['192.0.2.53/32', '2001:db8:53::53/128'];
    doc.services[0].backbone.targets = dnsTargets(
      ['127.0.0.41', '127.0.0.42', '127.0.0.43'],
      dnsPort,
    );
    doc.announcer = bgpAnnouncer(birdOptions.port, 3);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    lifeline = startLifeline();
  });

  afterAll(async () => {
    lifeline?.kill('SIGCONT');
    await stopProcess(lifeline);
    await bird?.stop();
    for (const server of servers) await server.stop();
  });

  const present = (): boolean =>
    bird.routes('t4').includes('192.0.2.53/32') &&
    bird.routes('t6').includes('2001:db8:53::53/128');
  const absent = (): boolean =>
    !bird.routes('t4').includes('192.0.2.53/32') && !bird.routes('t6').includes('2001:db8:53');
  const context = (): string => '\nlifeline log:\n' + log + '\nBIRD log:\n' + bird.log();

  it('establishes the session; the /32 and the /128 arrive with our AS path and next hops', async () => {
    await waitFor(() => bird.established(), 10000, 'Established' + context());
    await waitFor(present, 5000, 'both routes' + context());
    expect(bird.routes('t4')).toMatch(/BGP\.as_path: 65010\n[\s\S]*BGP\.next_hop: 192\.0\.2\.10/);
    expect(bird.routes('t6')).toMatch(/BGP\.as_path: 65010\n[\s\S]*BGP\.next_hop: 2001:db8::10/);
    expect(log).toMatch(/bgp peer=127\.0\.0\.2:\d+ state=established/);
    expect(log).not.toMatch(/STDOUT/);
  });

  it('withdraws when the service fails and announces again when it recovers', async () => {
    servers[0]!.pause();
    servers[1]!.pause();
    await waitFor(absent, 5000, 'the withdrawal' + context());
    servers[0]!.resume();
    servers[1]!.resume();
    await waitFor(present, 5000, 'the re-announcement' + context());
  });

  it('comes back by itself, session and routes, after BIRD restarts', async () => {
    await bird.kill();
    bird = await startBird(birdOptions);
    await waitFor(present, 15000, 'the routes after the restart' + context());
    expect(bird.established()).toBe(true);
  });

  it('a frozen firmware loses its routes at BIRD when the hold timer (3 s) expires, and recovers', async () => {
    const frozenAt = performance.now();
    lifeline!.kill('SIGSTOP');
    await waitFor(absent, 8000, 'the hold timer at BIRD' + context());
    const goneMs = performance.now() - frozenAt;
    expect(goneMs).toBeGreaterThan(2000);
    expect(goneMs).toBeLessThan(6000);
    expect(bird.log()).toMatch(/Hold timer expired/i);
    lifeline!.kill('SIGCONT');
    await waitFor(present, 15000, 'the routes after the thaw' + context());
  });

  it('a clean stop withdraws the routes and sends CEASE; exit 0', async () => {
    const exited = new Promise<number | null>((resolve) => lifeline!.once('exit', resolve));
    lifeline!.kill('SIGTERM');
    expect(await exited).toBe(0);
    lifeline = null;
    await waitFor(absent, 3000, 'the withdrawal on shutdown' + context());
    expect(bird.log()).toMatch(/Received: Administrative shutdown/);
  });

  it('a killed firmware loses its routes too (the kernel closes the connection)', async () => {
    lifeline = startLifeline();
    await waitFor(present, 15000, 'the routes of the new process' + context());
    lifeline.kill('SIGKILL');
    await waitFor(absent, 5000, 'the routes after SIGKILL' + context());
  });
});

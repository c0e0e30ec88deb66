// A hostile BGP peer against `lifeline run` (issue 11 item 2): a Node TCP server written for the
// purpose completes the handshake, then floods ROUTE-REFRESH as fast as Lifeline reads and never
// reads a byte itself. Lifeline's RSS must stay bounded, its probe rounds keep their rate, its
// metrics keep answering, and SIGTERM still stops it. The rate is judged by Lifeline's own counts
// (rounds run against rounds skipped for lateness, probes per round), not by the wall clock, which
// another process on a loaded machine moves as much as the flood does; the times are printed.
// Before the fix RSS grew by hundreds of MB in seconds (every refresh copied every UPDATE into
// Node's socket buffer). LIFELINE_BUNDLE names
// another build to run (an older one, to see the failure), FLOOD_MS the flood's length (8 s).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeKeepalive, encodeOpen, FAMILY_IPV4, FAMILY_IPV6 } from '../../firmware/bgp/codec';
import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { dnsTargets, document } from '../helpers';
import { randomPort, stopProcess, waitFor } from '../support/peers';

const PEER = '127.0.13.2';
const LOCAL = '127.0.13.1';
const DNS = ['127.0.13.41', '127.0.13.42', '127.0.13.43'];
const INTERVAL_MS = 100;

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.setTimeout(2000, () => request.destroy(new Error('metrics: no answer in 2 s')));
    request.on('error', reject);
  });
}

/** Probes sent so far (every target), and of those answered healthy in time. */
async function probes(port: number): Promise<number> {
  let total = 0;
  const text = await scrape(port);
  for (const match of text.matchAll(/^lifeline_probes_total\{[^}]*result="sent"[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  if (total === 0) throw new Error('no probes_total{result="sent"} in\n' + text);
  return total;
}

/** A counter of the metrics page (`lifeline_NAME`). */
async function counter(port: number, name: string): Promise<number> {
  const match = new RegExp('^lifeline_' + name + ' (\\d+)$', 'm').exec(await scrape(port));
  if (match === null) throw new Error('no lifeline_' + name);
  return Number(match[1]);
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/' + pid + '/status', 'utf8'));
  return Number(match![1]) * 1024;
}

/** The peer: OPEN and KEEPALIVE back, then ROUTE-REFRESH (IPv4 and IPv6) forever, reading nothing. */
class HostilePeer {
  readonly server: Server;
  socket: Socket | null = null;
  refreshesSent = 0;
  flooding = false;
  private readonly flood: Buffer;

  constructor() {
    const refreshes: Buffer[] = [];
    for (let i = 0; i < 4096; i++)
      refreshes.push(
        Buffer.from('ffffffffffffffffffffffffffffffff001705000' + (1 + (i % 2)) + '0001', 'hex'),
      );
    this.flood = Buffer.concat(refreshes);
    this.server = createServer((socket) => this.accepted(socket));
  }

  private accepted(socket: Socket): void {
    this.socket = socket;
    socket.on('error', () => {});
    const scratch = new Uint8Array(4096);
    const open = encodeOpen(scratch, 0, {
      localAs: 65000,
      holdTimeS: 90,
      routerId: new Uint8Array([127, 0, 13, 2]),
      families: FAMILY_IPV4 | FAMILY_IPV6,
    });
    const keepalive = encodeKeepalive(scratch, open);
    socket.write(Buffer.from(scratch.subarray(0, keepalive)));
  }

  /** Stops reading (the kernel's receive window closes) and floods, at Lifeline's reading pace. */
  startFlood(): void {
    const socket = this.socket!;
    socket.pause();
    this.flooding = true;
    const pump = (): void => {
      while (this.flooding && !socket.destroyed) {
        this.refreshesSent += 4096;
        if (!socket.write(this.flood)) return void socket.once('drain', pump);
      }
    };
    pump();
  }

  stop(): void {
    this.flooding = false;
    this.socket?.destroy();
    this.server.close();
  }
}

describe('a hostile BGP peer: ROUTE-REFRESH flood, never reading', () => {
  const servers: Dnsmasq[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-hostile-'));
  const metricsPort = randomPort();
  const peer = new HostilePeer();
  let lifeline: ChildProcess | null = null;
  let log = '';

  beforeAll(async () => {
    const dnsPort = randomPort();
    for (const address of DNS) servers.push(await startDnsmasq(address, dnsPort));
    const bgpPort = randomPort();
    await new Promise<void>((resolve) => peer.server.listen(bgpPort, PEER, resolve));
    const doc = document({ intervalMs: INTERVAL_MS, timeoutMs: 80, rise: 1, quorum: 2 }) as any;
    doc.services[0].prefixes = ['192.0.2.53/32', '2001:db8:53::53/128'];
    doc.services[0].backbone.targets = dnsTargets(DNS, dnsPort);
    doc.metrics = { listen: '127.0.0.1:' + metricsPort };
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: PEER,
          port: bgpPort,
          remoteAs: 65000,
          holdTimeS: 90,
          localAddress: LOCAL,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    lifeline = spawn(
      process.execPath,
      [
        process.env['LIFELINE_BUNDLE'] ?? 'dist/lifeline.mjs',
        'run',
        '--config',
        join(dir, 'config.json'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  });

  afterAll(async () => {
    peer.stop();
    await stopProcess(lifeline);
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps RSS bounded, probe rounds at their rate and metrics answering; SIGTERM still stops it', async () => {
    await waitFor(() => /state=established/.test(log), 10000, 'Established\n' + log);
    await waitFor(
      () => log.includes('routes service=dns routes=announced'),
      5000,
      'routes\n' + log,
    );
    // The metrics server starts once its module has loaded, which can be after the routes.
    const answers = (): Promise<boolean> =>
      scrape(metricsPort).then(
        () => true,
        () => false,
      );
    await waitFor(answers, 5000, 'the metrics server\n' + log);
    // The rate before the flood: probes over 2 s (a figure, printed).
    const calmFrom = await probes(metricsPort);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const calmRate = ((await probes(metricsPort)) - calmFrom) / 2;
    const rssBefore = rssBytes(lifeline!.pid!);

    peer.startFlood();
    const floodFrom = await probes(metricsPort);
    const skippedFrom = await counter(metricsPort, 'rounds_skipped_total');
    const roundsFrom = await counter(metricsPort, 'rounds_total');
    const floodStarted = performance.now();
    let rssMax = rssBefore;
    let scrapeMsMax = 0;
    let scrapes = 0;
    const samples: number[] = [];
    while (performance.now() - floodStarted < Number(process.env['FLOOD_MS'] ?? 8000)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      rssMax = Math.max(rssMax, rssBytes(lifeline!.pid!));
      samples.push(Math.round(rssBytes(lifeline!.pid!) / 2 ** 20));
      const scrapedAt = performance.now();
      await scrape(metricsPort); // rejects after 2 s without an answer
      scrapes++;
      scrapeMsMax = Math.max(scrapeMsMax, performance.now() - scrapedAt);
    }
    const floodRate =
      ((await probes(metricsPort)) - floodFrom) / ((performance.now() - floodStarted) / 1000);
    const skipped = (await counter(metricsPort, 'rounds_skipped_total')) - skippedFrom;
    const rounds = (await counter(metricsPort, 'rounds_total')) - roundsFrom;
    const probesFlooded = (await probes(metricsPort)) - floodFrom;
    const figures =
      `rounds=${rounds} skipped=${skipped} probes=${probesFlooded} scrapes=${scrapes} ` +
      `refreshes=${peer.refreshesSent} rss ${(rssBefore / 2 ** 20).toFixed(1)} -> max ` +
      `${(rssMax / 2 ** 20).toFixed(1)} MiB; probes/s ${calmRate.toFixed(1)} calm, ` +
      `${floodRate.toFixed(1)} flooded; slowest scrape ${scrapeMsMax.toFixed(0)} ms; ` +
      `rss MiB every 250 ms: ${samples.join(' ')}`;
    console.log('hostile peer: ' + figures);
    // Lifeline read the flood (it was not simply stalled), and it cost no memory growth.
    expect(peer.refreshesSent, figures).toBeGreaterThan(100000);
    expect(rssMax - rssBefore, figures).toBeLessThan(40 * 2 ** 20);
    // The rounds kept their rate by Lifeline's own clock: at least 9 in 10 of the rounds due ran
    // (a round is skipped when the loop wakes more than an interval late), each probing every
    // target (three), and the metrics answered every scrape within its 2 s.
    expect(rounds, figures).toBeGreaterThan(0);
    expect(skipped / (rounds + skipped), figures).toBeLessThanOrEqual(0.1);
    expect(probesFlooded / rounds, figures).toBeGreaterThan(2.5);
    expect(probesFlooded / rounds, figures).toBeLessThan(3.5);
    expect(scrapes, figures).toBeGreaterThanOrEqual(4);
    expect(log).toMatch(/bgp peer=127\.0\.13\.2:\d+ state=established/);
    expect(log).not.toMatch(/state=idle/);

    const exited = new Promise<number | null>((resolve) => lifeline!.once('exit', resolve));
    const stoppingAt = performance.now();
    lifeline!.kill('SIGTERM');
    expect(await exited).toBe(0);
    console.log('hostile peer: stopped ' + (performance.now() - stoppingAt).toFixed(0) + ' ms');
    expect(log).toMatch(/signal SIGTERM\n(.*\n)*.*shutdown routes=withdrawn/);
    lifeline = null;
  });
});

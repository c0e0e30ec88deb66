// The Node HAL on real loopback sockets: DNS probes over UDP (IPv4 and IPv6) and TCP connects, and
// the replies a hostile network can send: from another port, with garbage, oversized.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { readConfig } from '../firmware/config';
import type { HalClient } from '../firmware/hal';
import { Counter, ProbeTable, SlotState } from '../firmware/probes';
import { NodeHal } from '../hal/node/index';
import { DnsResponder } from '../host/responder';
import { Driver, Peer } from '../bench/bgp';
import { RouteState } from '../firmware/announcer';
import { SessionState } from '../firmware/bgp/session';
import { waitFor } from './support/peers';

/** A probe table on the Node HAL, probing by hand: `round()` sends, events resolve. */
class Prober implements HalClient {
  readonly hal = new NodeHal({ log: () => {}, emit: () => {} });
  readonly probes: ProbeTable;
  constructor(targets: Record<string, unknown>[]) {
    const result = readConfig({
      device: { name: 't' },
      services: [{ name: 's', prefixes: ['192.0.2.1/32'], backbone: { quorum: 1, targets } }],
      announcer: { kind: 'exabgp' },
    });
    if (result.config === null) throw new Error(result.errors.join('\n'));
    this.probes = new ProbeTable(result.config);
    this.hal.attach(this);
    this.probes.open(this.hal);
  }
  round(): void {
    this.probes.sendAll(this.hal.clock.nowMs());
  }
  expire(): void {
    this.probes.expire(this.hal.clock.nowMs());
  }
  wake(): void {}
  datagramReceived(socketId: number, length: number, fromPeer: boolean): void {
    this.probes.received(socketId, length, fromPeer, this.hal.clock.nowMs());
  }
  socketFailed(socketId: number): void {
    this.probes.failed(socketId, this.hal.clock.nowMs());
  }
  socketConnected(socketId: number): void {
    this.probes.connected(socketId, this.hal.clock.nowMs());
  }
  streamConnected(): void {}
  streamReceived(): void {}
  streamClosed(): void {}
  streamWritable(): void {}
  streamIncoming(): number {
    return -1;
  }
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

async function udpSocket(address: string): Promise<Socket> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  cleanup.push(() => socket.close());
  return socket;
}

describe('node HAL on loopback', () => {
  it('probes DNS over UDP on IPv4 and IPv6 and measures the round-trip time', async () => {
    const v4 = await DnsResponder.start({ address: '127.0.0.1' });
    const v6 = await DnsResponder.start({ address: '::1' });
    cleanup.push(
      () => v4.close(),
      () => v6.close(),
    );
    const prober = new Prober([
      {
        name: 'v4',
        kind: 'dns',
        address: '127.0.0.1',
        port: v4.port,
        query: 'health.example.',
        expectAddress: '203.0.113.53',
      },
      {
        name: 'v6',
        kind: 'dns',
        address: '0:0:0:0:0:0:0:1',
        port: v6.port,
        query: 'health.example.',
        type: 'AAAA',
        expectAddress: '2001:db8::53',
      },
    ]);
    cleanup.push(() => prober.probes.close());
    for (let round = 0; round < 5; round++) {
      prober.round();
      await waitFor(() => prober.probes.pendingCount === 0, 2000, 'both answers');
    }
    expect(prober.probes.counter(0, Counter.Healthy)).toBe(5);
    expect(prober.probes.counter(1, Counter.Healthy)).toBe(5);
    expect(prober.probes.rttMs[1]).toBeGreaterThan(0);
    expect(prober.probes.rttMs[1]).toBeLessThan(100);
  });

  it('drops a forged reply from another port, then takes the real one', async () => {
    const server = await udpSocket('127.0.0.1');
    const forger = await udpSocket('127.0.0.1');
    let query: { bytes: Buffer; from: RemoteInfo } | null = null;
    server.on('message', (bytes, from) => (query = { bytes, from }));
    const prober = new Prober([
      {
        name: 'a',
        kind: 'dns',
        address: '127.0.0.1',
        port: server.address().port,
        query: 'x.test.',
      },
    ]);
    cleanup.push(() => prober.probes.close());
    prober.round();
    await waitFor(() => query !== null, 2000, 'the query');
    const reply = Buffer.from(query!.bytes);
    reply[2] = 0x81;
    reply[3] = 0x80;
    forger.send(reply, query!.from.port, '127.0.0.1');
    await waitFor(
      () => prober.probes.counter(0, Counter.WrongSource) === 1,
      2000,
      'the forged reply',
    );
    expect(prober.probes.state[0]).toBe(SlotState.Pending);
    server.send(Buffer.alloc(10000, 0xff), query!.from.port, '127.0.0.1'); // oversized garbage
    server.send(Buffer.from([reply[0]!, reply[1]!, 0x81]), query!.from.port, '127.0.0.1'); // truncated header
    await waitFor(
      () =>
        prober.probes.counter(0, Counter.Mismatch) + prober.probes.counter(0, Counter.Malformed) ===
        2,
      2000,
      'the hostile replies',
    );
    expect(prober.probes.state[0]).toBe(SlotState.Pending);
    server.send(reply, query!.from.port, '127.0.0.1');
    await waitFor(() => prober.probes.state[0] === SlotState.Healthy, 2000, 'the real reply');
  });

  it('probes TCP: an accepted connection is healthy, a refused one fails at once', async () => {
    const server: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const open = (server.address() as { port: number }).port;
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as { port: number }).port;
        probe.close(() => resolve(port));
      });
    });
    const prober = new Prober([
      { name: 'open', kind: 'tcp', address: '127.0.0.1', port: open },
      { name: 'closed', kind: 'tcp', address: '127.0.0.1', port: closed },
      { name: 'v6', kind: 'tcp', address: '::1', port: closed },
    ]);
    cleanup.push(() => prober.probes.close());
    prober.round();
    await waitFor(() => prober.probes.pendingCount === 0, 2000, 'every connect to end');
    expect([prober.probes.state[0], prober.probes.state[1], prober.probes.state[2]]).toEqual([
      SlotState.Healthy,
      SlotState.Failed,
      SlotState.Failed,
    ]);
    expect(prober.probes.counter(1, Counter.SocketFailed)).toBe(1);
  });

  it('carries a BGP session over IPv6 (::1) through the stream HAL, UPDATE included', async () => {
    const peer = new Peer();
    const port = await peer.listen('::1');
    const driver = new Driver(port, '::1');
    cleanup.push(() => {
      driver.speaker.shutdown(false);
      driver.hal.stopTimer();
      peer.close();
    });
    const session = driver.speaker.sessions[0]!;
    await waitFor(() => session.state === SessionState.Established, 5000, 'Established over ::1');
    const arrived = peer.next();
    driver.speaker.serviceStateChanged(0, RouteState.Announced);
    await arrived;
    expect(session.updatesSent).toBe(1);
  });

  it('times out a silent target and counts its late answer as late, never as health', async () => {
    const responder = await DnsResponder.start({ address: '127.0.0.1' });
    cleanup.push(() => responder.close());
    responder.silent = true;
    const prober = new Prober([
      { name: 'a', kind: 'dns', address: '127.0.0.1', port: responder.port, query: 'x.test.' },
    ]);
    cleanup.push(() => prober.probes.close());
    prober.round();
    await new Promise((resolve) => setTimeout(resolve, 50));
    prober.expire();
    expect(prober.probes.counter(0, Counter.Timeout)).toBe(1);
    responder.silent = false;
    prober.round();
    await waitFor(() => prober.probes.pendingCount === 0, 2000, 'the answer');
    expect(prober.probes.counter(0, Counter.Healthy)).toBe(1);
  });
});

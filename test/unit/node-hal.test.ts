// The Node HAL on real loopback sockets: DNS probes over UDP (IPv4 and IPv6) and TCP connects, and
// the replies a hostile network can send: from another port, with garbage, oversized.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { readConfig } from '../../config/validate';
import type { HalClient } from '../../firmware/hal';
import { Counter } from '../../firmware/probe-statistics';
import { Outcome, ProbeTable, SlotState } from '../../firmware/probes';
import { NodeHal } from '../../hal/node/index';
import { DnsResponder } from '../../lab/responder';
import { Driver, Peer } from '../../bench/bgp';
import { RouteState } from '../../firmware/announcer';
import { SessionState } from '../../firmware/bgp/session';
import { randomPort, waitFor } from '../../lab/processes';

/** A probe table on the Node HAL, probing by hand: `round()` sends, events resolve. */
class Prober implements HalClient {
  readonly hal: NodeHal;
  readonly probes: ProbeTable;
  constructor(targets: Record<string, unknown>[], udpSendsPerPort?: number) {
    this.hal = new NodeHal({
      log: () => {},
      emit: () => {},
      ...(udpSendsPerPort ? { udpSendsPerPort } : {}),
    });
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
    this.probes.settle(
      socketId,
      Outcome.SocketFailed,
      Counter.SocketFailed,
      this.hal.clock.nowMs(),
    );
  }
  socketConnected(socketId: number): void {
    this.probes.settle(socketId, Outcome.Healthy, Counter.Healthy, this.hal.clock.nowMs());
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
    expect(prober.probes.statistics!.rttMs[1]).toBeGreaterThan(0);
    expect(prober.probes.statistics!.rttMs[1]).toBeLessThan(100);
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

  it("changes a target's source port every udpSendsPerPort probes, losing no answer", async () => {
    const server = await udpSocket('127.0.0.1');
    const ports: number[] = [];
    server.on('message', (bytes, from) => {
      ports.push(from.port);
      const reply = Buffer.from(bytes);
      reply[2] = 0x81;
      reply[3] = 0x80;
      server.send(reply, from.port, from.address);
    });
    const target = {
      name: 'a',
      kind: 'dns',
      address: '127.0.0.1',
      port: server.address().port,
      query: 'x.test.',
    };
    const prober = new Prober([target], 2);
    cleanup.push(() => prober.probes.close());
    for (let round = 0; round < 6; round++) {
      prober.round();
      await waitFor(() => prober.probes.state[0] === SlotState.Healthy, 2000, 'answer ' + round);
    }
    expect(prober.probes.counter(0, Counter.Healthy), String(ports)).toBe(6);
    expect(ports[0], String(ports)).toBe(ports[1]);
    expect(ports[2]).toBe(ports[3]);
    expect(ports[4], String(ports)).toBe(ports[5]);
    expect(new Set([ports[0], ports[2], ports[4]]).size).toBe(3);
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
    expect(session.statistics!.updatesSent).toBe(1);
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

/** Records the stream events of a NodeHal, and names the stream that takes incoming ones. */
class StreamRecorder implements HalClient {
  readonly hal = new NodeHal({ log: () => {}, emit: () => {} });
  readonly events: string[] = [];
  readonly receive = new Uint8Array(4096);
  incomingStream = 0;
  constructor() {
    this.hal.attach(this);
  }
  wake(): void {}
  datagramReceived(): void {}
  socketFailed(): void {}
  socketConnected(): void {}
  streamConnected(id: number): void {
    this.events.push('connected ' + id);
  }
  streamReceived(id: number, length: number): void {
    this.events.push('received ' + id + ' ' + length);
  }
  streamClosed(id: number): void {
    this.events.push('closed ' + id);
  }
  streamWritable(id: number): void {
    this.events.push('writable ' + id);
  }
  streamIncoming(listenerId: number, address: string): number {
    this.events.push('incoming ' + listenerId + ' ' + address);
    return this.incomingStream;
  }
  open(port: number, localAddress: string | null = null) {
    return this.hal.openStream({
      streamId: 0,
      family: 4,
      address: '127.0.13.20',
      port,
      localAddress,
      receive: this.receive,
      writeBytesMax: 16384,
      readBytesPerSecondMax: 4 * 1024 * 1024,
      passwordFile: null,
    });
  }
}

describe('node HAL streams: the write bound and the listener', () => {
  it('refuses writes past writeBytesMax while the peer does not read, then says writable', async () => {
    let accepted: import('node:net').Socket | null = null;
    const server: Server = createServer((socket) => {
      socket.pause(); // reads nothing: the kernel's buffers fill, then Node's
      accepted = socket;
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.13.20', () => resolve((server.address() as { port: number }).port)),
    );
    const recorder = new StreamRecorder();
    cleanup.push(() => {
      stream.close();
      accepted?.destroy();
      server.close();
    });
    const stream = recorder.open(port);
    stream.connect();
    await waitFor(() => recorder.events.includes('connected 0'), 2000, 'connected');
    const chunk = new Uint8Array(4096).fill(0x55);
    let written = 0;
    // Bounded: the kernel takes a few MB at most before Node's buffer, and our bound, is reached.
    for (let i = 0; i < 100000 && stream.write(chunk, chunk.length); i++) {
      written += chunk.length;
      if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(written).toBeLessThan(100000 * 4096);
    expect(stream.write(chunk, 1)).toBe(false); // all or nothing: not even one byte
    expect(recorder.events).not.toContain('writable 0');
    accepted!.resume();
    await waitFor(() => recorder.events.includes('writable 0'), 5000, 'writable');
    expect(stream.write(chunk, chunk.length)).toBe(true);
  });

  it('listens: a connection is offered to the firmware with its address, taken or refused', async () => {
    const recorder = new StreamRecorder();
    const port = randomPort();
    const stream = recorder.open(port, '127.0.13.20');
    const listener = recorder.hal.listen({
      listenerId: 3,
      family: 4,
      address: '127.0.13.20',
      port,
      keys: [],
    });
    cleanup.push(() => {
      stream.close();
      listener.close();
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { Socket: NetSocket } = await import('node:net');
    const peer = new NetSocket();
    peer.on('error', () => {});
    peer.connect({ host: '127.0.13.20', port, localAddress: '127.0.13.21' });
    await waitFor(() => recorder.events.includes('connected 0'), 2000, 'taken');
    expect(recorder.events).toContain('incoming 3 127.0.13.21');
    peer.write('hello');
    await waitFor(() => recorder.events.includes('received 0 5'), 2000, 'the bytes');
    expect(Buffer.from(recorder.receive.subarray(0, 5)).toString()).toBe('hello');
    recorder.incomingStream = -1;
    const refused = new NetSocket();
    const closed = new Promise((resolve) => refused.once('close', resolve));
    refused.on('error', () => {});
    refused.connect({ host: '127.0.13.20', port, localAddress: '127.0.13.22' });
    await closed;
    expect(recorder.events).toContain('incoming 3 127.0.13.22');
    peer.destroy();
  });
});

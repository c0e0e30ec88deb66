// The BGP benchmark: time from a decision (a service's state changes) to its UPDATE, written to the
// socket and received by a BGP peer on loopback, next to a bare net socket writing the same bytes
// to the same peer in the same run.

import { createServer, Socket, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';

import { RouteState } from '../firmware/announcer';
import { readConfig } from '../config/validate';
import { encodeKeepalive, encodeOpen, FAMILY_IPV4, FAMILY_IPV6 } from '../firmware/bgp/codec';
import { SessionState } from '../firmware/bgp/session';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import type { HalClient } from '../firmware/hal';
import { NodeHal } from '../hal/node/index';

const CHANGES = 2000;

/** A BGP peer on loopback: answers the OPEN, then reports every UPDATE's arrival. */
export class Peer {
  onUpdate: (() => void) | null = null;
  private readonly server: Server;
  constructor() {
    this.server = createServer((socket) => {
      let buffer = Buffer.alloc(0);
      socket.setNoDelay(true);
      socket.on('data', (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 19 && buffer.length >= buffer.readUInt16BE(16)) {
          const type = buffer[18];
          buffer = buffer.subarray(buffer.readUInt16BE(16));
          if (type === 1) socket.write(this.handshake());
          if (type === 2 && this.onUpdate !== null) this.onUpdate();
        }
      });
      socket.on('error', () => {});
    });
  }
  private handshake(): Buffer {
    const out = new Uint8Array(256);
    const open = encodeOpen(out, 0, {
      localAs: 65000,
      holdTimeS: 90,
      routerId: new Uint8Array([127, 0, 0, 2]),
      families: FAMILY_IPV4 | FAMILY_IPV6,
    });
    return Buffer.concat([out.slice(0, open), out.slice(0, encodeKeepalive(out, 0))]);
  }
  listen(address = '127.0.0.1'): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, address, () =>
        resolve((this.server.address() as { port: number }).port),
      ),
    );
  }
  next(): Promise<void> {
    return new Promise((resolve) => (this.onUpdate = resolve));
  }
  close(): void {
    this.server.close();
  }
}

/**
 * The bench firmware's config: one service announcing 192.0.2.53/32 whose only target refuses
 * (127.0.0.1:9), announced by the built-in speaker to one peer. `extra` adds or replaces
 * top-level keys, `service` keys of the service.
 */
export function speakerBenchConfig(
  port: number,
  address = '127.0.0.1',
  service: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    device: { name: 'bench' },
    services: [
      {
        name: 'dns',
        prefixes: ['192.0.2.53/32'],
        backbone: {
          quorum: 1,
          targets: [{ name: 'a', kind: 'tcp', address: '127.0.0.1', port: 9 }],
        },
        ...service,
      },
    ],
    announcer: {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [{ address, port, remoteAs: 65000, holdTimeS: 90, nextHopV4: '192.0.2.10' }],
    },
    ...extra,
  };
}

/** The speaker on the node HAL, with just enough of the firmware around it to run its timers. */
export class Driver implements HalClient {
  readonly hal = new NodeHal({ log: () => {}, emit: () => {} });
  readonly speaker: BgpSpeaker;
  constructor(port: number, address = '127.0.0.1') {
    const result = readConfig(speakerBenchConfig(port, address));
    if (result.config === null) throw new Error(result.errors.join('\n'));
    this.speaker = new BgpSpeaker(result.config, this.hal);
    this.hal.attach(this);
    this.speaker.start();
    this.wake();
  }
  wake(): void {
    this.hal.setWakeup(this.speaker.tick(this.hal.clock.nowMs()));
  }
  datagramReceived(): void {}
  socketFailed(): void {}
  socketConnected(): void {}
  streamConnected(id: number): void {
    this.speaker.streamConnected(id);
    this.wake();
  }
  streamReceived(id: number, length: number): void {
    this.speaker.streamReceived(id, length);
    this.wake();
  }
  streamClosed(id: number): void {
    this.speaker.streamClosed(id);
    this.wake();
  }
  streamWritable(id: number): void {
    this.speaker.streamWritable(id);
    this.wake();
  }
  streamIncoming(listenerId: number, address: string): number {
    return this.speaker.streamIncoming(listenerId, address);
  }
}

export interface Timings {
  name: string;
  samplesMs: number[];
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export function summarise(timings: Timings): {
  name: string;
  medianNs: number;
  p99Ns: number;
  samples: number;
} {
  const sorted = [...timings.samplesMs].sort((a, b) => a - b);
  return {
    name: timings.name,
    medianNs: percentile(sorted, 0.5) * 1e6,
    p99Ns: percentile(sorted, 0.99) * 1e6,
    samples: sorted.length,
  };
}

/** Decision -> UPDATE: returned from write(), received by the peer; and the bare baseline. */
export async function measureBgp(): Promise<Timings[]> {
  const peer = new Peer();
  const port = await peer.listen();
  const driver = new Driver(port);
  const session = driver.speaker.sessions[0]!;
  const started = performance.now();
  while (session.state !== SessionState.Established) {
    if (performance.now() - started > 5000)
      throw new Error('bench: no BGP session with the loopback peer');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const written: number[] = [];
  const received: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const arrived = peer.next();
    const t0 = performance.now();
    driver.speaker.serviceStateChanged(
      0,
      i % 2 === 0 ? RouteState.Announced : RouteState.Withdrawn,
    );
    written.push(performance.now() - t0);
    await arrived;
    received.push(performance.now() - t0);
  }
  const bare = new Socket();
  await new Promise<void>((resolve) => bare.connect(port, '127.0.0.1', resolve));
  bare.setNoDelay(true);
  const update = Buffer.from('ffffffffffffffffffffffffffffffff001c02000520c00002350000', 'hex');
  const baseline: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const arrived = peer.next();
    const t0 = performance.now();
    bare.write(Buffer.from(update));
    await arrived;
    baseline.push(performance.now() - t0);
  }
  bare.destroy();
  driver.speaker.shutdown(false);
  driver.hal.stopTimer();
  peer.close();
  return [
    { name: 'bgp decision -> UPDATE handed to the socket', samplesMs: written },
    { name: 'bare net write -> received by peer (baseline)', samplesMs: baseline },
    { name: 'bgp decision -> UPDATE received by peer', samplesMs: received },
  ];
}

// The node HAL's BFD sockets over real loopback sockets (RFC 5881 4 and 5, RFC 5883): packets go
// from a source port of 49152-65535 that the session keeps, with a TTL of 255 (the receiving
// socket here drops anything else, as a router does); single hop, only what arrived with a TTL of
// 255 reaches the firmware (the kernel drops the rest: the addon's socket filter), and only from
// the session's peer; multihop takes any TTL, on port 4784.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';

import type { BfdOpenOptions, HalClient, UdpSocket } from '../../firmware/hal';
import { md5Addon } from '../../hal/node/md5';
import { NodeHal } from '../../hal/node/index';
import { waitFor } from '../support/peers';

const received: { socketId: number; length: number; fromPeer: boolean }[] = [];
const client: HalClient = {
  wake: () => {},
  datagramReceived: (socketId, length, fromPeer) => received.push({ socketId, length, fromPeer }),
  socketFailed: () => {},
  socketConnected: () => {},
  streamConnected: () => {},
  streamReceived: () => {},
  streamWritable: () => {},
  streamClosed: () => {},
  streamIncoming: () => -1,
};

const opened: (UdpSocket | Socket)[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.close();
  received.length = 0;
});

function openBfd(hal: NodeHal, options: Partial<BfdOpenOptions>): BfdOpenOptions {
  const full: BfdOpenOptions = {
    socketId: 0x4000,
    family: 4,
    address: '127.0.0.2',
    localAddress: '127.0.0.1',
    multihop: false,
    receive: new Uint8Array(64),
    ...options,
  };
  opened.push(hal.openBfd(full));
  return full;
}

/** A router's socket at `address`:`port`, sending with `ttl`. */
async function router(address: string, port: number, ttl: number): Promise<Socket> {
  const socket = createSocket('udp4');
  opened.push(socket);
  await new Promise<void>((done) => socket.bind({ address, port }, () => done()));
  socket.setTTL(ttl);
  return socket;
}

const send = (socket: Socket, port: number, text: string): Promise<void> =>
  new Promise((done) => socket.send(Buffer.from(text), port, '127.0.0.1', () => done()));

describe('node HAL BFD sockets (RFC 5881, 5883)', () => {
  it('single hop: only packets with TTL 255, from the session’s peer, reach the firmware', async () => {
    const hal = new NodeHal({ log: () => {} });
    hal.attach(client);
    const options = openBfd(hal, {});
    await new Promise((done) => setTimeout(done, 100));
    const low = await router('127.0.0.2', 49999, 254);
    const right = await router('127.0.0.2', 50000, 255);
    const stranger = await router('127.0.0.3', 50001, 255);
    await send(low, 3784, 'ttl 254 from the peer');
    await send(stranger, 3784, 'ttl 255 from a stranger');
    await send(right, 3784, 'ttl 255 from the peer');
    await waitFor(() => received.length > 0, 3000, 'a packet');
    await new Promise((done) => setTimeout(done, 100));
    expect(received).toEqual([{ socketId: 0x4000, length: 21, fromPeer: true }]);
    expect(Buffer.from(options.receive.subarray(0, 21)).toString()).toBe('ttl 255 from the peer');
  });

  it('multihop: port 4784, any TTL', async () => {
    const hal = new NodeHal({ log: () => {} });
    hal.attach(client);
    openBfd(hal, { multihop: true });
    await new Promise((done) => setTimeout(done, 100));
    await send(await router('127.0.0.2', 50002, 250), 4784, 'ttl 250');
    await waitFor(() => received.length > 0, 3000, 'a packet');
    expect(received).toEqual([{ socketId: 0x4000, length: 7, fromPeer: true }]);
  });

  it('sends with TTL 255 from one source port of 49152-65535, to port 3784', async () => {
    const hal = new NodeHal({ log: () => {} });
    hal.attach(client);
    // The router's side: the addon's TTL-checking socket, so only TTL 255 arrives.
    const fd = md5Addon().bfdSocket(4, '127.0.0.2', 3784, true);
    const peer = createSocket('udp4');
    opened.push(peer);
    const seen: RemoteInfo[] = [];
    peer.on('message', (_message, remote) => seen.push(remote));
    await new Promise<void>((done) => peer.bind({ fd }, () => done()));
    const socket = hal.openBfd({
      socketId: 0x4000,
      family: 4,
      address: '127.0.0.2',
      localAddress: '127.0.0.1',
      multihop: false,
      receive: new Uint8Array(64),
    });
    opened.push(socket);
    const packet = new Uint8Array(24).fill(7);
    // Dropped until the socket is bound and connected: BFD sends again soon.
    await waitFor(
      () => {
        socket.send(packet, 24);
        return seen.length >= 3;
      },
      3000,
      'three packets at the peer',
    );
    const ports = new Set(seen.map((remote) => remote.port));
    expect(ports.size).toBe(1);
    const [port] = [...ports];
    expect(port).toBeGreaterThanOrEqual(49152);
    expect(port).toBeLessThanOrEqual(65535);
    expect(seen[0]!.address).toBe('127.0.0.1');
  });
});

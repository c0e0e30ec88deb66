// BFD sockets for the Node HAL (firmware/hal.ts BfdOpenOptions). Each session sends from a socket
// of its own, bound to a random port of 49152-65535 that it keeps (RFC 5881 4), with a TTL (hop
// limit) of 255 (RFC 5881 5), connected to the peer's port 3784 (4784 multihop): a connected send
// costs Node the least. Received packets come to port 3784 (4784) of the local address, on one
// socket that every session from that address shares, and go to the session whose peer sent them
// (RFC 5881 3). Node's dgram cannot read a datagram's TTL, so that socket comes from the addon
// (hal/node/md5.ts) with a socket filter: the kernel drops, single hop, every packet that did not
// arrive with a TTL of 255 (GTSM, RFC 5082), and the firmware never sees one. Without the addon,
// the socket is Node's own and the log says that the TTL is not checked.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

import type { BfdOpenOptions, HalClient, UdpSocket } from '../../firmware/hal';
import { md5Addon } from './md5';

/** What a BFD socket needs of the HAL. */
export interface BfdHost {
  client(): HalClient;
  log(line: string): void;
  fillRandom(target: Uint8Array): void;
}

/** Tries at a random source port before a session gives up its socket (EADDRINUSE each time). */
const BIND_TRIES = 16;

/** Strips the IPv4-mapped prefix a dual-stack socket may report, to match canonical text. */
function canonical(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The shared socket on port 3784 (4784) of one local address, and the sessions it serves. */
export class BfdReceiver {
  private readonly socket: Socket;
  /** Per peer address, its session's id and receive buffer. */
  readonly sessions = new Map<string, BfdOpenOptions>();

  constructor(
    private readonly host: BfdHost,
    options: BfdOpenOptions,
    port: number,
  ) {
    const type = options.family === 4 ? 'udp4' : 'udp6';
    this.socket = createSocket({ type, reuseAddr: true });
    this.socket.on('message', (message: Buffer, remote: RemoteInfo) =>
      this.onMessage(message, remote),
    );
    this.socket.on('error', (error: Error) =>
      host.log('bfd port=' + port + ' receive failed: ' + error.message),
    );
    const ttlCheck = !options.multihop;
    let fd = -1;
    try {
      fd = md5Addon().bfdSocket(options.family, options.localAddress, port, ttlCheck);
    } catch (error) {
      host.log('bfd port=' + port + ' ttl=unchecked: ' + (error as Error).message.split('\n')[0]);
    }
    if (fd >= 0) this.socket.bind({ fd });
    else this.socket.bind({ port, address: options.localAddress ?? undefined });
  }

  private onMessage(message: Buffer, remote: RemoteInfo): void {
    const session = this.sessions.get(canonical(remote.address));
    if (session === undefined) return; // no session for this source (RFC 5880 6.8.6)
    const receive = session.receive;
    const length = message.length;
    message.copy(receive, 0, 0, Math.min(length, receive.length));
    this.host.client().datagramReceived(session.socketId, length, true);
  }

  close(): void {
    this.socket.close();
  }
}

/** One session's sending socket. */
export class NodeBfdSocket implements UdpSocket {
  private socket: Socket | null = null;
  private ready = false;
  private closed = false;
  private tries = 0;
  private readonly random = new Uint8Array(2);

  constructor(
    private readonly host: BfdHost,
    private readonly options: BfdOpenOptions,
    private readonly port: number,
    private readonly onClose: () => void,
  ) {
    this.bind();
  }

  /** Binds a new socket to a random port of the RFC 5881 4 range; again on EADDRINUSE. */
  private bind(): void {
    const options = this.options;
    const socket = createSocket(options.family === 4 ? 'udp4' : 'udp6');
    this.socket = socket;
    this.host.fillRandom(this.random);
    const port = 49152 + (((this.random[0]! << 8) | this.random[1]!) % 16384);
    socket.once('error', (error: NodeJS.ErrnoException) => this.onBindError(socket, error));
    socket.bind({ port, address: options.localAddress ?? undefined, exclusive: true }, () => {
      socket.removeAllListeners('error');
      if (this.closed) return;
      // Errors of a connected socket (ICMP port unreachable: the peer runs no BFD) say nothing
      // the session's timers do not: BFD notices a dead path by the packets that do not come.
      socket.on('error', () => {});
      socket.setTTL(255);
      socket.connect(this.port, options.address, () => {
        if (!this.closed) this.ready = true;
      });
    });
  }

  private onBindError(socket: Socket, error: NodeJS.ErrnoException): void {
    socket.close();
    if (this.closed) return;
    if (error.code === 'EADDRINUSE' && ++this.tries < BIND_TRIES) return this.bind();
    this.host.log('bfd peer=' + this.options.address + ' no source port: ' + error.message);
  }

  send(data: Uint8Array, length: number): void {
    const socket = this.socket;
    if (!this.ready || socket === null) return;
    socket.send(data, 0, length);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.socket?.close();
    this.socket = null;
    this.onClose();
  }
}

// The Node HAL, for Linux appliances: dgram and net sockets, one timer, crypto randomness, stderr
// for the log and stdout for the announcer. Node's own timers and sockets allocate; this HAL keeps
// that to the floor (one timer, no per-send callbacks, handlers bound once) and the core allocates
// nothing.

import { randomFillSync } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as DatagramSocket } from 'node:dgram';
import { Socket as NetSocket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { FileStorage } from './storage';
import type {
  Clock,
  Hal,
  HalClient,
  Storage,
  StreamOpenOptions,
  StreamSocket,
  TcpOpenOptions,
  TcpProbeSocket,
  UdpOpenOptions,
  UdpSocket,
} from '../../firmware/hal';

/** Monotonic: performance.now() never goes back, and this refuses to even if it did. */
class NodeClock implements Clock {
  private lastMs = 0;
  nowMs(): number {
    const nowMs = performance.now();
    if (nowMs > this.lastMs) this.lastMs = nowMs;
    return this.lastMs;
  }
}

/** A listener for a socket being retired: its late errors belong to no probe. */
function ignore(): void {}

/**
 * One target's UDP socket. Its source port changes every `sendsPerPort` probes (a new socket,
 * bound by the kernel to a random port), as resolvers change theirs against spoofing: a forger
 * must then guess the port as well as the 16-bit query ID, and a port learned once goes stale.
 * The change happens just before a send, when no probe of this target is outstanding (one at a
 * time), so no answer is lost; it costs a socket every `sendsPerPort` rounds, nothing per probe.
 */
class NodeUdpSocket implements UdpSocket {
  private socket: DatagramSocket;
  private readonly messageHandler: (message: Buffer, remote: RemoteInfo) => void;
  private readonly errorHandler: () => void;
  private sendsOnPort: number;
  private closed = false;

  constructor(
    private readonly hal: NodeHal,
    private readonly options: UdpOpenOptions,
    private readonly sendsPerPort: number,
  ) {
    this.messageHandler = this.onMessage.bind(this);
    this.errorHandler = this.onError.bind(this);
    this.socket = this.bound();
    this.sendsOnPort = 0;
  }

  /**
   * A new socket on a kernel-chosen port. Unconnected: the firmware sees, counts and drops
   * datagrams from other sources itself.
   */
  private bound(): DatagramSocket {
    const socket = createSocket({ type: this.options.family === 4 ? 'udp4' : 'udp6' });
    socket.on('message', this.messageHandler);
    socket.on('error', this.errorHandler);
    socket.bind(0);
    return socket;
  }

  private onMessage(message: Buffer, remote: RemoteInfo): void {
    const receive = this.options.receive;
    const length = message.length;
    message.copy(receive, 0, 0, Math.min(length, receive.length));
    const fromPeer = remote.port === this.options.port && remote.address === this.options.address;
    this.hal.client().datagramReceived(this.options.socketId, length, fromPeer);
  }

  private onError(): void {
    // Send errors (ENETUNREACH, EHOSTUNREACH...) come here when send() has no callback.
    if (!this.closed) this.hal.client().socketFailed(this.options.socketId);
  }

  /** Retires the current socket for one on a new port (a send on it waits for its bind). */
  private changePort(): void {
    const old = this.socket;
    old.removeListener('message', this.messageHandler);
    old.removeListener('error', this.errorHandler);
    old.on('error', ignore);
    old.close();
    this.socket = this.bound();
    this.sendsOnPort = 1; // the send that asked for the change is the first on the new port
  }

  send(data: Uint8Array, length: number): void {
    if (this.closed) return;
    if (++this.sendsOnPort > this.sendsPerPort) this.changePort();
    try {
      this.socket.send(data, 0, length, this.options.port, this.options.address);
    } catch {
      this.hal.client().socketFailed(this.options.socketId);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

class NodeTcpSocket implements TcpProbeSocket {
  private socket: NetSocket | null = null;
  private readonly connectHandler: () => void;
  private readonly errorHandler: () => void;

  constructor(
    private readonly hal: NodeHal,
    private readonly options: TcpOpenOptions,
  ) {
    this.connectHandler = this.onConnect.bind(this);
    this.errorHandler = this.onError.bind(this);
  }

  private onConnect(): void {
    this.abort();
    this.hal.client().socketConnected(this.options.socketId);
  }

  private onError(): void {
    this.abort();
    this.hal.client().socketFailed(this.options.socketId);
  }

  connect(): void {
    this.abort();
    const socket = new NetSocket();
    socket.once('connect', this.connectHandler);
    socket.once('error', this.errorHandler);
    this.socket = socket;
    socket.connect({
      host: this.options.address,
      port: this.options.port,
      family: this.options.family,
    });
  }

  abort(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.removeListener('connect', this.connectHandler);
    socket.removeListener('error', this.errorHandler);
    socket.on('error', ignoreError); // a late error of a destroyed socket must not become uncaught
    socket.destroy();
  }

  close(): void {
    this.abort();
  }
}

function ignoreError(): void {}

/** A BGP session's TCP connection: Nagle off, received chunks copied into the caller's buffer. */
class NodeStreamSocket implements StreamSocket {
  private socket: NetSocket | null = null;
  private readonly connectHandler: () => void;
  private readonly dataHandler: (chunk: Buffer) => void;
  private readonly closeHandler: () => void;

  constructor(
    private readonly hal: NodeHal,
    private readonly options: StreamOpenOptions,
  ) {
    this.connectHandler = this.onConnect.bind(this);
    this.dataHandler = this.onData.bind(this);
    this.closeHandler = this.onClose.bind(this);
  }

  connect(): void {
    this.close();
    const socket = new NetSocket();
    socket.setNoDelay(true);
    socket.on('connect', this.connectHandler);
    socket.on('data', this.dataHandler);
    socket.on('close', this.closeHandler);
    socket.on('error', ignoreError); // 'close' follows every error
    this.socket = socket;
    const options = this.options;
    const local = options.localAddress === null ? {} : { localAddress: options.localAddress };
    socket.connect({ host: options.address, port: options.port, family: options.family, ...local });
  }

  private onConnect(): void {
    this.hal.client().streamConnected(this.options.streamId);
  }

  private onData(chunk: Buffer): void {
    const receive = this.options.receive;
    const socket = this.socket;
    for (
      let offset = 0;
      offset < chunk.length && this.socket === socket;
      offset += receive.length
    ) {
      const length = Math.min(receive.length, chunk.length - offset);
      chunk.copy(receive, 0, offset, offset + length);
      this.hal.client().streamReceived(this.options.streamId, length);
    }
  }

  private onClose(): void {
    this.socket = null;
    this.hal.client().streamClosed(this.options.streamId);
  }

  write(data: Uint8Array, length: number): void {
    // A copy: the caller reuses its buffer, and Node may hold this one until the kernel takes it.
    this.socket?.write(Buffer.from(data.subarray(0, length)));
  }

  close(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.removeListener('connect', this.connectHandler);
    socket.removeListener('data', this.dataHandler);
    socket.removeListener('close', this.closeHandler);
    socket.end();
    socket.setTimeout(2000, () => socket.destroy()); // a peer that never closes its side
  }
}

export interface NodeHalOptions {
  /** Where overrides and the audit log persist; none when absent. */
  readonly stateDir?: string | null;
  /** Where log lines go (stderr by default). */
  readonly log?: (line: string) => void;
  /** Where announcer lines go (stdout by default). */
  readonly emit?: (line: string) => void;
  /** Probes a UDP target's source port carries before it changes (default UDP_SENDS_PER_PORT). */
  readonly udpSendsPerPort?: number;
}

/** With 1 s rounds, a new source port about every minute per target. */
export const UDP_SENDS_PER_PORT = 64;

export class NodeHal implements Hal {
  readonly clock: Clock = new NodeClock();
  private attached: HalClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly wakeHandler: () => void;
  private readonly logSink: (line: string) => void;
  private readonly emitSink: (line: string) => void;
  private readonly udpSendsPerPort: number;

  readonly storage: Storage | null;

  constructor(options: NodeHalOptions = {}) {
    this.wakeHandler = this.onTimer.bind(this);
    this.logSink = options.log ?? ((line) => process.stderr.write(line + '\n'));
    this.emitSink = options.emit ?? ((line) => process.stdout.write(line + '\n'));
    this.udpSendsPerPort = options.udpSendsPerPort ?? UDP_SENDS_PER_PORT;
    const dir = options.stateDir ?? null;
    this.storage = dir === null ? null : new FileStorage(dir, (line) => this.log(line));
  }

  client(): HalClient {
    if (this.attached === null) throw new Error('NodeHal: no firmware attached');
    return this.attached;
  }

  attach(client: HalClient): void {
    this.attached = client;
  }

  openUdp(options: UdpOpenOptions): UdpSocket {
    return new NodeUdpSocket(this, options, this.udpSendsPerPort);
  }

  openTcp(options: TcpOpenOptions): TcpProbeSocket {
    return new NodeTcpSocket(this, options);
  }

  openStream(options: StreamOpenOptions): StreamSocket {
    return new NodeStreamSocket(this, options);
  }

  fillRandom(target: Uint8Array): void {
    randomFillSync(target);
  }

  setWakeup(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const delayMs = Math.max(0, Math.ceil(atMs - this.clock.nowMs()));
    this.timer = setTimeout(this.wakeHandler, delayMs);
  }

  private onTimer(): void {
    this.timer = null;
    this.client().wake();
  }

  /** Cancels the timer so that the process can exit once the sockets are closed. */
  stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  wallClockIso(): string {
    return new Date().toISOString();
  }

  wallClockMs(): number {
    return Date.now();
  }

  log(line: string): void {
    this.logSink(this.wallClockIso() + ' ' + Math.round(this.clock.nowMs()) + ' ' + line);
  }

  emit(line: string): void {
    this.emitSink(line);
  }
}

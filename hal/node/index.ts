// The Node HAL, for Linux appliances: dgram and net sockets, one timer, crypto randomness, stderr
// for the log and stdout for the announcer. Node's own timers and sockets allocate; this HAL keeps
// that to the floor (one timer, no per-send callbacks, handlers bound once) and the core allocates
// nothing.

import { randomFillSync } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as DatagramSocket } from 'node:dgram';
import { createServer, Socket as NetSocket, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';

import { BfdReceiver, NodeBfdSocket } from './bfd';
import { md5Addon, readMd5Key } from './md5';
import { FileStorage } from './storage';
import { BFD_MULTIHOP_PORT, BFD_PORT } from '../../firmware/bfd/codec';
import type {
  BfdOpenOptions,
  Clock,
  Hal,
  HalClient,
  ListenOptions,
  StreamListener,
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

/** What a stream delivers to the firmware at most before it yields to the rest of the loop. */
const READ_BYTES_PER_TURN = 64 * 1024;

/**
 * A BGP session's TCP connection: Nagle off, received chunks copied into the caller's buffer, and
 * writes bounded by `writeBytesMax` of unsent bytes (Node's own buffer grows without limit when the
 * peer stops reading; the kernel's is bounded by tcp_wmem).
 */
class NodeStreamSocket implements StreamSocket {
  private socket: NetSocket | null = null;
  /** A write was refused: 'drain' then reports `streamWritable`. */
  private refused = false;
  /** Bytes delivered since the loop last turned; past READ_BYTES_PER_TURN reading pauses. */
  private turnBytes = 0;
  private yielding = false;
  private readonly connectHandler: () => void;
  private readonly dataHandler: (chunk: Buffer) => void;
  private readonly drainHandler: () => void;
  private readonly closeHandler: () => void;
  private readonly resumeHandler: () => void;

  constructor(
    private readonly hal: NodeHal,
    private readonly options: StreamOpenOptions,
  ) {
    this.connectHandler = this.onConnect.bind(this);
    this.dataHandler = this.onData.bind(this);
    this.drainHandler = this.onDrain.bind(this);
    this.closeHandler = this.onClose.bind(this);
    this.resumeHandler = this.onResume.bind(this);
  }

  connect(): void {
    this.close();
    const options = this.options;
    if (options.passwordFile !== null) return this.connectSigned(options.passwordFile);
    // A high-water mark of one byte: any write the kernel did not take at once sets the stream's
    // need-drain flag, so a 'drain' always follows a refusal, whatever `writeBytesMax` is.
    this.adopt(new NetSocket({ writableHighWaterMark: 1 } as object));
    const local = options.localAddress === null ? {} : { localAddress: options.localAddress };
    this.socket!.connect({
      host: options.address,
      port: options.port,
      family: options.family,
      ...local,
    });
  }

  /**
   * TCP MD5 (RFC 2385): the key must be on the socket before its SYN, which Node's sockets cannot
   * do; the addon makes the socket (key set, bound), Node connects it. A missing addon or an
   * unreadable secret is logged and the attempt fails like a refused one (the session backs off).
   */
  private connectSigned(passwordFile: string): void {
    const options = this.options;
    const read = readMd5Key(passwordFile);
    let fd = -1;
    try {
      if ('error' in read) throw new Error('passwordFile ' + passwordFile + ' ' + read.error);
      fd = md5Addon().socket(options.family, options.localAddress, options.address, read.key);
    } catch (error) {
      this.hal.log('bgp peer=' + options.address + ' md5: ' + (error as Error).message);
      setImmediate(() => this.hal.client().streamClosed(options.streamId));
      return;
    }
    // Paused until connected: Node would otherwise start reading an unconnected socket.
    const socket = new NetSocket({ fd, pauseOnCreate: true, writableHighWaterMark: 1 } as object);
    this.adopt(socket);
    socket.connect({ host: options.address, port: options.port });
  }

  /** Takes over `socket` (ours, or one a listener accepted) as this stream's connection. */
  adopt(socket: NetSocket): void {
    this.refused = false;
    socket.setNoDelay(true);
    socket.on('connect', this.connectHandler);
    socket.on('data', this.dataHandler);
    socket.on('drain', this.drainHandler);
    socket.on('close', this.closeHandler);
    socket.on('error', ignoreError); // 'close' follows every error
    this.socket = socket;
  }

  private onConnect(): void {
    this.socket?.resume(); // a signed socket starts paused
    this.hal.client().streamConnected(this.options.streamId);
  }

  /** Takes a connection our listener accepted, in place of any it had (no events for that). */
  accept(socket: NetSocket): void {
    this.close();
    this.adopt(socket);
    this.onConnect();
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
    // A peer that sends without pause (a ROUTE-REFRESH flood, issue 11) must neither keep the
    // loop in this callback nor take a core: past a budget per turn, reading pauses until the
    // stream's `readBytesPerSecondMax` allows that much again (TCP flow control slows the peer).
    this.turnBytes += chunk.length;
    if (this.turnBytes < READ_BYTES_PER_TURN || this.yielding) return;
    if (socket === null || this.socket !== socket) return;
    this.yielding = true;
    socket.pause();
    const delayMs = (this.turnBytes * 1000) / this.options.readBytesPerSecondMax;
    setTimeout(this.resumeHandler, Math.max(1, Math.round(delayMs)));
  }

  private onResume(): void {
    this.yielding = false;
    this.turnBytes = 0;
    this.socket?.resume();
  }

  private onDrain(): void {
    if (!this.refused) return;
    this.refused = false;
    this.hal.client().streamWritable(this.options.streamId);
  }

  private onClose(): void {
    this.socket = null;
    this.hal.client().streamClosed(this.options.streamId);
  }

  write(data: Uint8Array, length: number): boolean {
    const socket = this.socket;
    if (socket === null) return false;
    if (socket.writableLength + length > this.options.writeBytesMax) {
      this.refused = true;
      return false;
    }
    // A copy: the caller reuses its buffer, and Node may hold this one until the kernel takes it.
    socket.write(Buffer.from(data.subarray(0, length)));
    return true;
  }

  close(): void {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    socket.removeListener('connect', this.connectHandler);
    socket.removeListener('data', this.dataHandler);
    socket.removeListener('drain', this.drainHandler);
    socket.removeListener('close', this.closeHandler);
    if (this.refused) {
      // The peer stopped reading: it would take our last words (a CEASE) no sooner than the rest.
      socket.destroy();
      return;
    }
    socket.end();
    // A peer that never closes its side: 2 s at most, activity or not.
    const timer = setTimeout(() => socket.destroy(), 2000);
    socket.once('close', () => clearTimeout(timer));
  }
}

/** Strips the IPv4-mapped prefix a dual-stack socket may report, to match canonical text. */
function canonicalRemote(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** A TCP listener for passive BGP peers: each connection goes to the stream the firmware names. */
class NodeStreamListener implements StreamListener {
  private readonly server: Server;

  constructor(
    private readonly hal: NodeHal,
    private readonly options: ListenOptions,
  ) {
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (error: Error) =>
      hal.log('bgp listener port=' + options.port + ' failed: ' + error.message),
    );
    const any = options.family === 4 ? '0.0.0.0' : '::';
    this.server.listen({ host: options.address ?? any, port: options.port, ipv6Only: true }, () =>
      this.setKeys(),
    );
  }

  /** TCP MD5: each signing peer's key on the listening socket, which its connections inherit. */
  private setKeys(): void {
    const fd = (this.server as unknown as { _handle: { fd: number } | null })._handle?.fd ?? -1;
    for (const key of this.options.keys) {
      const read = readMd5Key(key.passwordFile);
      try {
        if ('error' in read) throw new Error('passwordFile ' + key.passwordFile + ' ' + read.error);
        md5Addon().setKey(fd, this.options.family, key.address, read.key);
      } catch (error) {
        this.hal.log('bgp peer=' + key.address + ' md5: ' + (error as Error).message);
      }
    }
  }

  private onConnection(socket: NetSocket): void {
    const address = canonicalRemote(socket.remoteAddress);
    const streamId = this.hal.client().streamIncoming(this.options.listenerId, address);
    const stream = this.hal.streams[streamId];
    if (streamId < 0 || stream === undefined) {
      socket.on('error', ignoreError);
      socket.destroy();
      return;
    }
    stream.accept(socket);
  }

  close(): void {
    this.server.close();
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
  /** The streams by id, for a listener to hand its connections to. */
  readonly streams: NodeStreamSocket[] = [];
  /** BFD's shared receiving sockets, by family, local address and port. */
  private readonly bfdReceivers = new Map<string, BfdReceiver>();

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

  openBfd(options: BfdOpenOptions): UdpSocket {
    const port = options.multihop ? BFD_MULTIHOP_PORT : BFD_PORT;
    const key = options.family + ' ' + (options.localAddress ?? '*') + ' ' + port;
    let receiver = this.bfdReceivers.get(key);
    if (receiver === undefined) {
      receiver = new BfdReceiver(this, options, port);
      this.bfdReceivers.set(key, receiver);
    }
    receiver.sessions.set(options.address, options);
    const shared = receiver;
    return new NodeBfdSocket(this, options, port, () => {
      shared.sessions.delete(options.address);
      if (shared.sessions.size > 0) return;
      shared.close();
      this.bfdReceivers.delete(key);
    });
  }

  openTcp(options: TcpOpenOptions): TcpProbeSocket {
    return new NodeTcpSocket(this, options);
  }

  openStream(options: StreamOpenOptions): StreamSocket {
    const stream = new NodeStreamSocket(this, options);
    this.streams[options.streamId] = stream;
    return stream;
  }

  listen(options: ListenOptions): StreamListener {
    return new NodeStreamListener(this, options);
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

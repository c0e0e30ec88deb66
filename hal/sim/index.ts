// The simulated HAL: deterministic virtual time and a simulated network of DNS and TCP targets,
// each with its own latency, loss and failure mode. Tests, drills and benchmarks of the core run on
// it: `runFor(ms)` plays the events in time order. Like the core, it allocates nothing per event
// (replies are built in per-socket buffers), so the allocation-free proof can run on it.

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

/** How a simulated target treats a probe. */
export const enum Behaviour {
  /** Answers correctly after its latency (subject to loss). */
  Answer = 0,
  /** Never answers: a cut link, a dead host, a silent drop. */
  Silent = 1,
  /** Answers with an ICMP error / a refused connection after its latency. */
  Refuse = 2,
  /** Answers with the RCODE set by `rcode` and no records. */
  Rcode = 3,
  /** Answers with another query ID (a stale or spoofed reply). */
  WrongId = 4,
  /** Answers from another source address (spoofing, or a multi-homed server). */
  WrongSource = 5,
  /** Answers with random bytes after the right ID. */
  Garbage = 6,
}

export interface SimTargetOptions {
  readonly latencyMs?: number;
  readonly lossPercent?: number;
  readonly behaviour?: Behaviour;
  readonly rcode?: number;
}

const REPLY_BYTES = 512;
const NONE = Infinity;
const ANSWER_A = [203, 0, 113, 53];
const ANSWER_AAAA = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53];

class SimUdpSocket implements UdpSocket {
  constructor(
    private readonly sim: SimHal,
    private readonly id: number,
  ) {}
  send(data: Uint8Array, length: number): void {
    this.sim.udpSend(this.id, data, length);
  }
  close(): void {
    this.sim.cancel(this.id);
  }
}

class SimTcpSocket implements TcpProbeSocket {
  constructor(
    private readonly sim: SimHal,
    private readonly id: number,
  ) {}
  connect(): void {
    this.sim.tcpConnect(this.id);
  }
  abort(): void {
    this.sim.cancel(this.id);
  }
  close(): void {
    this.sim.cancel(this.id);
  }
}

/** How a simulated stream peer answers a connection attempt. */
export const enum StreamPeer {
  Accept = 0,
  Refuse = 1,
  Silent = 2,
}

const STREAMS_MAX = 8;

/** How a simulated BFD peer answers (`SimHal.setBfdPeer`). */
export const enum BfdPeer {
  /** Answers every packet after the latency, following RFC 5880's state machine. */
  Answer = 0,
  /** Sends nothing: a cut link, a frozen router, a BFD daemon that stopped. */
  Silent = 1,
  /** Answers AdminDown (diagnostic 7): BFD switched off on the router (RFC 5880 6.8.16). */
  AdminDown = 2,
}

const BFD_SESSIONS_MAX = 8;
const BFD_BYTES = 24;

function writeWord(target: Uint8Array, at: number, value: number): void {
  for (let b = 0; b < 4; b++) target[at + b] = (value >>> (24 - 8 * b)) & 0xff;
}

class SimBfdSocket implements UdpSocket {
  constructor(
    private readonly sim: SimHal,
    private readonly slot: number,
  ) {}
  send(data: Uint8Array, length: number): void {
    this.sim.bfdSend(this.slot, data, length);
  }
  close(): void {
    this.sim.bfdClose(this.slot);
  }
}

/** In-memory storage; `failing` makes every write fail (a read-only or full stateDir). */
export class MemoryStorage implements Storage {
  readonly files: { [name: string]: string } = {};
  failing = false;
  /** Names that exist but cannot be read (as a directory in their place would be). */
  readonly unreadable: string[] = [];
  readError = '';
  read(name: string): string | null {
    this.readError = this.unreadable.indexOf(name) >= 0 ? 'cannot be read (EISDIR)' : '';
    return this.readError === '' ? (this.files[name] ?? null) : null;
  }
  replace(name: string, text: string): boolean {
    if (this.failing) return false;
    this.files[name] = text;
    return true;
  }
  appendLine(name: string, line: string): boolean {
    if (this.failing) return false;
    this.files[name] = (this.files[name] ?? '') + line + '\n';
    return true;
  }
}

class SimStreamSocket implements StreamSocket {
  constructor(
    private readonly sim: SimHal,
    private readonly id: number,
  ) {}
  connect(): void {
    this.sim.streamConnect(this.id);
  }
  write(data: Uint8Array, length: number): boolean {
    return this.sim.streamWrite(this.id, data, length);
  }
  close(): void {
    this.sim.streamClose(this.id);
  }
}

export class SimHal implements Hal {
  readonly clock: Clock;
  timeMs: number;
  /** Lines emitted on the announcer channel, and when. */
  readonly emitted: string[];
  readonly emittedAtMs: number[];
  readonly logged: string[];
  /** Echo log lines to this function as they come (tests leave it null). */
  echo: ((line: string) => void) | null;
  readonly latencyMs: Float64Array;
  readonly lossPercent: Float64Array;
  readonly behaviour: Uint8Array;
  readonly rcode: Uint8Array;
  readonly sentCount: Float64Array;
  readonly addresses: string[];
  private client: HalClient | null;
  private wakeAtMs: number;
  private readonly eventAtMs: Float64Array;
  /** 0: datagram, 1: connected, 2: failed. */
  private readonly eventKind: Uint8Array;
  private readonly replyLength: Uint16Array;
  private readonly replyFromPeer: Uint8Array;
  private readonly replies: Uint8Array[];
  private readonly receive: (Uint8Array | null)[];
  private readonly random: Uint32Array;
  private socketCount: number;
  /** Added to the wall clock: a restart in a test moves the monotonic clock back, not the wall. */
  wallOffsetMs: number;
  readonly storage: MemoryStorage;
  /**
   * Called after every event `runUntil` plays (a reply, a connection, a wake-up): the simulator
   * checks its invariants here, so that a run trips on the first wrong state.
   */
  onEvent: (() => void) | null;
  /**
   * Per stream: how its peer answers a connect, whether it is connected, what was written to it.
   */
  readonly streamPeer: Uint8Array;
  readonly streamOpen: Uint8Array;
  readonly streamWrites: Uint8Array[][];
  readonly streamConnects: Float64Array;
  /**
   * Per stream: 0 when its peer has stopped reading (`stopReading`); the bytes written since, the
   * bound from the open options, and whether a write was refused (`streamWritable` is then due).
   */
  readonly streamReading: Uint8Array;
  readonly streamUnreadBytes: Float64Array;
  readonly streamWriteBytesMax: Float64Array;
  readonly streamRefused: Uint8Array;
  /** What the firmware listens on. */
  readonly listeners: ListenOptions[];
  /**
   * BFD sessions (`openBfd`), by slot in the order opened: their options, how the simulated
   * peer answers, the TTL its packets arrive with (not 255: the HAL drops them, as Linux does for
   * the node HAL), its state, interval (microseconds) and multiplier, the packets sent to it (and
   * the last one), and when its answer arrives.
   */
  readonly bfdOpen: BfdOpenOptions[];
  readonly bfdPeer: Uint8Array;
  readonly bfdTtl: Uint8Array;
  readonly bfdPeerState: Uint8Array;
  readonly bfdPeerIntervalUs: Uint32Array;
  readonly bfdPeerMultiplier: Uint8Array;
  readonly bfdSent: Float64Array;
  readonly bfdLatencyMs: Float64Array;
  readonly bfdLastSent: Uint8Array[];
  /** Packets the simulated kernel dropped for their TTL. */
  readonly bfdTtlDropped: Float64Array;
  private readonly bfdReply: Uint8Array[];
  private readonly bfdEventAtMs: Float64Array;
  private readonly streamReceive: (Uint8Array | null)[];
  private readonly streamEventAtMs: Float64Array;
  /** 0: connected, 1: closed. */
  private readonly streamEventKind: Uint8Array;

  constructor(options: {
    readonly socketsMax: number;
    readonly seed: number;
    /** The state directory, when it must outlive this HAL (a restart in the simulator). */
    readonly storage?: MemoryStorage;
  }) {
    const count = options.socketsMax;
    this.timeMs = 0;
    const sim = this;
    this.clock = { nowMs: () => sim.timeMs };
    this.emitted = [];
    this.emittedAtMs = [];
    this.logged = [];
    this.echo = null;
    this.latencyMs = new Float64Array(count).fill(1);
    this.lossPercent = new Float64Array(count);
    this.behaviour = new Uint8Array(count);
    this.rcode = new Uint8Array(count);
    this.sentCount = new Float64Array(count);
    this.addresses = [];
    this.client = null;
    this.wakeAtMs = NONE;
    this.eventAtMs = new Float64Array(count).fill(NONE);
    this.eventKind = new Uint8Array(count);
    this.replyLength = new Uint16Array(count);
    this.replyFromPeer = new Uint8Array(count);
    this.replies = [];
    this.receive = [];
    for (let i = 0; i < count; i++) {
      this.replies.push(new Uint8Array(REPLY_BYTES));
      this.receive.push(null);
    }
    this.random = new Uint32Array([options.seed >>> 0 || 0x9e3779b9]);
    this.socketCount = 0;
    this.wallOffsetMs = 0;
    this.storage = options.storage ?? new MemoryStorage();
    this.onEvent = null;
    this.streamPeer = new Uint8Array(STREAMS_MAX);
    this.streamOpen = new Uint8Array(STREAMS_MAX);
    this.streamWrites = [];
    this.streamConnects = new Float64Array(STREAMS_MAX);
    this.streamReading = new Uint8Array(STREAMS_MAX).fill(1);
    this.streamUnreadBytes = new Float64Array(STREAMS_MAX);
    this.streamWriteBytesMax = new Float64Array(STREAMS_MAX);
    this.streamRefused = new Uint8Array(STREAMS_MAX);
    this.listeners = [];
    this.streamReceive = [];
    for (let i = 0; i < STREAMS_MAX; i++) {
      this.streamWrites.push([]);
      this.streamReceive.push(null);
    }
    this.streamEventAtMs = new Float64Array(STREAMS_MAX).fill(NONE);
    this.streamEventKind = new Uint8Array(STREAMS_MAX);
    this.bfdOpen = [];
    this.bfdPeer = new Uint8Array(BFD_SESSIONS_MAX);
    this.bfdTtl = new Uint8Array(BFD_SESSIONS_MAX).fill(255);
    this.bfdPeerState = new Uint8Array(BFD_SESSIONS_MAX).fill(1);
    this.bfdPeerIntervalUs = new Uint32Array(BFD_SESSIONS_MAX).fill(100000);
    this.bfdPeerMultiplier = new Uint8Array(BFD_SESSIONS_MAX).fill(3);
    this.bfdSent = new Float64Array(BFD_SESSIONS_MAX);
    this.bfdLatencyMs = new Float64Array(BFD_SESSIONS_MAX).fill(1);
    this.bfdTtlDropped = new Float64Array(BFD_SESSIONS_MAX);
    this.bfdLastSent = [];
    this.bfdReply = [];
    for (let i = 0; i < BFD_SESSIONS_MAX; i++) {
      this.bfdLastSent.push(new Uint8Array(BFD_BYTES));
      this.bfdReply.push(new Uint8Array(BFD_BYTES));
    }
    this.bfdEventAtMs = new Float64Array(BFD_SESSIONS_MAX).fill(NONE);
  }

  openBfd(options: BfdOpenOptions): UdpSocket {
    const slot = this.bfdOpen.length;
    if (slot >= BFD_SESSIONS_MAX) throw new Error('sim: more than ' + BFD_SESSIONS_MAX + ' BFD');
    this.bfdOpen.push(options);
    return new SimBfdSocket(this, slot);
  }

  /** How the BFD peer of `slot` answers from now on, and with which TTL its packets arrive. */
  setBfdPeer(slot: number, peer: BfdPeer, ttl?: number): void {
    this.bfdPeer[slot] = peer;
    if (ttl !== undefined) this.bfdTtl[slot] = ttl;
    if (peer === BfdPeer.Silent) this.bfdEventAtMs[slot] = NONE;
  }

  /**
   * The firmware sent a BFD packet to the peer of `slot`: the peer steps its state machine on the
   * packet's state (RFC 5880 6.8.6) and answers after the latency, with F for a P.
   */
  bfdSend(slot: number, data: Uint8Array, length: number): void {
    this.bfdSent[slot] = this.bfdSent[slot]! + 1;
    const last = this.bfdLastSent[slot]!;
    for (let i = 0; i < length && i < BFD_BYTES; i++) last[i] = data[i]!;
    const behaviour = this.bfdPeer[slot];
    if (behaviour === BfdPeer.Silent || this.bfdOpen[slot] === undefined) return;
    const theirs = data[1]! >> 6;
    const state = this.bfdPeerState[slot]!;
    let next = state;
    if (theirs === 0) next = 1;
    else if (state === 1) next = theirs === 1 ? 2 : theirs === 2 ? 3 : 1;
    else if (state === 2) next = theirs >= 2 ? 3 : 2;
    else if (theirs === 1) next = 1;
    this.bfdPeerState[slot] = behaviour === BfdPeer.AdminDown ? 1 : next;
    const reply = this.bfdReply[slot]!;
    const adminDown = behaviour === BfdPeer.AdminDown;
    reply[0] = 0x20 | (adminDown ? 7 : 0);
    reply[1] = ((adminDown ? 0 : next) << 6) | ((data[1]! & 0x20) !== 0 ? 0x10 : 0);
    reply[2] = this.bfdPeerMultiplier[slot]!;
    reply[3] = BFD_BYTES;
    // My Discriminator, Your Discriminator (theirs), the intervals, no echo.
    writeWord(reply, 4, 0xb0000001 + slot);
    for (let i = 0; i < 4; i++) reply[8 + i] = data[4 + i]!;
    writeWord(reply, 12, this.bfdPeerIntervalUs[slot]!);
    writeWord(reply, 16, this.bfdPeerIntervalUs[slot]!);
    writeWord(reply, 20, 0);
    this.bfdEventAtMs[slot] = this.timeMs + this.bfdLatencyMs[slot]!;
  }

  bfdClose(slot: number): void {
    this.bfdEventAtMs[slot] = NONE;
  }

  private dispatchBfd(atMs: number): boolean {
    let any = false;
    for (let slot = 0; slot < this.bfdOpen.length; slot++) {
      if (this.bfdEventAtMs[slot] !== atMs) continue;
      this.bfdEventAtMs[slot] = NONE;
      const options = this.bfdOpen[slot]!;
      any = true;
      // RFC 5881 5: single hop, what did not arrive with a TTL of 255 never reaches the firmware.
      if (!options.multihop && this.bfdTtl[slot] !== 255) {
        this.bfdTtlDropped[slot] = this.bfdTtlDropped[slot]! + 1;
        continue;
      }
      options.receive.set(this.bfdReply[slot]!);
      this.client!.datagramReceived(options.socketId, BFD_BYTES, true);
    }
    return any;
  }

  openStream(options: StreamOpenOptions): StreamSocket {
    if (options.streamId < 0 || options.streamId >= STREAMS_MAX)
      throw new Error('sim: stream id beyond ' + STREAMS_MAX);
    this.streamReceive[options.streamId] = options.receive;
    this.streamWriteBytesMax[options.streamId] = options.writeBytesMax;
    return new SimStreamSocket(this, options.streamId);
  }

  streamConnect(id: number): void {
    this.streamConnects[id] = this.streamConnects[id]! + 1;
    this.streamOpen[id] = 0;
    this.streamUnreadBytes[id] = 0;
    this.streamRefused[id] = 0;
    const peer = this.streamPeer[id];
    this.streamEventAtMs[id] = peer === StreamPeer.Silent ? NONE : this.timeMs + 1;
    this.streamEventKind[id] = peer === StreamPeer.Accept ? 0 : 1;
  }

  streamWrite(id: number, data: Uint8Array, length: number): boolean {
    if (this.streamOpen[id] !== 1) return false;
    if (this.streamReading[id] === 0) {
      if (this.streamUnreadBytes[id]! + length > this.streamWriteBytesMax[id]!) {
        this.streamRefused[id] = 1;
        return false;
      }
      this.streamUnreadBytes[id] = this.streamUnreadBytes[id]! + length;
    }
    this.streamWrites[id]!.push(data.slice(0, length));
    return true;
  }

  /** The peer of stream `id` stops reading: written bytes pile up to the stream's bound. */
  stopReading(id: number): void {
    this.streamReading[id] = 0;
  }

  /** The peer of stream `id` reads everything again; a refused writer hears `streamWritable`. */
  resumeReading(id: number): void {
    this.streamReading[id] = 1;
    this.streamUnreadBytes[id] = 0;
    if (this.streamRefused[id] === 0 || this.streamOpen[id] === 0) return;
    this.streamRefused[id] = 0;
    this.client!.streamWritable(id);
  }

  streamClose(id: number): void {
    this.streamOpen[id] = 0;
    this.streamEventAtMs[id] = NONE;
  }

  listen(options: ListenOptions): StreamListener {
    this.listeners.push(options);
    const sim = this;
    return {
      close(): void {
        sim.listeners.splice(sim.listeners.indexOf(options), 1);
      },
    };
  }

  /**
   * A peer at `address` connects to listener `listenerId` (now): returns the stream that took it
   * (connected at once), or -1 when the firmware refused it or nothing listens.
   */
  connectIn(listenerId: number, address: string): number {
    if (!this.listeners.some((listener) => listener.listenerId === listenerId)) return -1;
    const id = this.client!.streamIncoming(listenerId, address);
    if (id < 0) return id;
    this.streamConnects[id] = this.streamConnects[id]! + 1;
    this.streamEventAtMs[id] = NONE;
    this.streamOpen[id] = 1;
    this.streamUnreadBytes[id] = 0;
    this.streamRefused[id] = 0;
    this.client!.streamConnected(id);
    return id;
  }

  /** The peer of stream `id` sends `bytes` (delivered now, in chunks of the receive buffer). */
  deliver(id: number, bytes: Uint8Array): void {
    const receive = this.streamReceive[id]!;
    for (
      let offset = 0;
      offset < bytes.length && this.streamOpen[id] === 1;
      offset += receive.length
    ) {
      const length = Math.min(receive.length, bytes.length - offset);
      receive.set(bytes.subarray(offset, offset + length));
      this.client!.streamReceived(id, length);
    }
  }

  /** The peer of stream `id` closes or resets the connection (now). */
  peerClose(id: number): void {
    if (this.streamOpen[id] === 0) return;
    this.streamOpen[id] = 0;
    this.client!.streamClosed(id);
  }

  /** Takes what was written to stream `id` since the last call. */
  takeWritten(id: number): Uint8Array[] {
    return this.streamWrites[id]!.splice(0);
  }

  attach(client: HalClient): void {
    this.client = client;
  }

  openUdp(options: UdpOpenOptions): UdpSocket {
    this.register(options.socketId, options.address + ':' + options.port);
    this.receive[options.socketId] = options.receive;
    return new SimUdpSocket(this, options.socketId);
  }

  openTcp(options: TcpOpenOptions): TcpProbeSocket {
    this.register(options.socketId, options.address + ':' + options.port);
    return new SimTcpSocket(this, options.socketId);
  }

  private register(id: number, address: string): void {
    if (id < 0 || id >= this.latencyMs.length)
      throw new Error('sim: socket id ' + id + ' beyond socketsMax');
    while (this.addresses.length <= id) this.addresses.push('');
    this.addresses[id] = address;
    this.socketCount = Math.max(this.socketCount, id + 1);
  }

  /** The socket id of the target at `address:port`, for tests to address targets by name. */
  socketOf(addressAndPort: string): number {
    const id = this.addresses.indexOf(addressAndPort);
    if (id < 0)
      throw new Error(
        'sim: no socket for ' + addressAndPort + ' (have ' + this.addresses.join(' ') + ')',
      );
    return id;
  }

  /** Sets how target `id` behaves from now on. */
  setTarget(id: number, options: SimTargetOptions): void {
    if (options.latencyMs !== undefined) this.latencyMs[id] = options.latencyMs;
    if (options.lossPercent !== undefined) this.lossPercent[id] = options.lossPercent;
    if (options.behaviour !== undefined) this.behaviour[id] = options.behaviour;
    if (options.rcode !== undefined) this.rcode[id] = options.rcode;
  }

  /** Sets every target at once (a backbone cut: `{ behaviour: Behaviour.Silent }`). */
  setAll(options: SimTargetOptions): void {
    for (let id = 0; id < this.socketCount; id++) this.setTarget(id, options);
  }

  fillRandom(target: Uint8Array): void {
    for (let i = 0; i < target.length; i++) target[i] = this.nextRandom() & 0xff;
  }

  private nextRandom(): number {
    let x = this.random[0]!;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.random[0] = x;
    return this.random[0]!;
  }

  setWakeup(atMs: number): void {
    this.wakeAtMs = atMs;
  }

  /**
   * The simulated wall clock: 4 October 2021, 15:39 UTC, plus virtual time (and `wallOffsetMs`).
   */
  wallClockMs(): number {
    return Date.UTC(2021, 9, 4, 15, 39) + this.timeMs + this.wallOffsetMs;
  }

  wallClockIso(): string {
    return new Date(this.wallClockMs()).toISOString();
  }

  log(line: string): void {
    this.logged.push(line);
    if (this.echo !== null) this.echo(line);
  }

  emit(line: string): void {
    this.emitted.push(line);
    this.emittedAtMs.push(this.timeMs);
  }

  cancel(id: number): void {
    this.eventAtMs[id] = NONE;
  }

  private lost(id: number): boolean {
    const behaviour = this.behaviour[id];
    if (behaviour === Behaviour.Silent) return true;
    return this.lossPercent[id]! > 0 && this.nextRandom() % 10000 < this.lossPercent[id]! * 100;
  }

  tcpConnect(id: number): void {
    this.sentCount[id] = this.sentCount[id]! + 1;
    if (this.lost(id)) return;
    this.eventAtMs[id] = this.timeMs + this.latencyMs[id]!;
    this.eventKind[id] = this.behaviour[id] === Behaviour.Refuse ? 2 : 1;
  }

  udpSend(id: number, data: Uint8Array, length: number): void {
    this.sentCount[id] = this.sentCount[id]! + 1;
    if (this.lost(id)) return;
    this.eventAtMs[id] = this.timeMs + this.latencyMs[id]!;
    const behaviour = this.behaviour[id];
    if (behaviour === Behaviour.Refuse) {
      this.eventKind[id] = 2;
      return;
    }
    this.eventKind[id] = 0;
    this.replyFromPeer[id] = behaviour === Behaviour.WrongSource ? 0 : 1;
    this.replyLength[id] = this.buildReply(id, data, length);
  }

  /** A DNS reply to the query in `data`, in the socket's reply buffer; returns its length. */
  private buildReply(id: number, data: Uint8Array, length: number): number {
    const reply = this.replies[id]!;
    // A copy loop, not set(subarray()): a view is an allocation.
    for (let i = 0; i < length; i++) reply[i] = data[i]!;
    const behaviour = this.behaviour[id];
    if (behaviour === Behaviour.Garbage) {
      for (let i = 2; i < 40; i++) reply[i] = this.nextRandom() & 0xff;
      return 40;
    }
    if (behaviour === Behaviour.WrongId) reply[1] = reply[1]! ^ 0x5a;
    reply[2] = 0x80 | (data[2]! & 0x01);
    reply[3] = 0x80 | (behaviour === Behaviour.Rcode ? this.rcode[id]! & 0x0f : 0);
    const type = (data[length - 4]! << 8) | data[length - 3]!;
    const answer =
      behaviour === Behaviour.Rcode
        ? null
        : type === 1
          ? ANSWER_A
          : type === 28
            ? ANSWER_AAAA
            : null;
    if (answer === null) return length;
    reply[7] = 1; // ANCOUNT
    let offset = length;
    reply[offset++] = 0xc0; // a pointer to the question's name, at 12
    reply[offset++] = 12;
    reply[offset++] = 0;
    reply[offset++] = type;
    reply[offset++] = 0;
    reply[offset++] = 1;
    reply.fill(0, offset, offset + 4); // TTL 0
    offset += 4;
    reply[offset++] = 0;
    reply[offset++] = answer.length;
    for (let i = 0; i < answer.length; i++) reply[offset++] = answer[i]!;
    return offset;
  }

  /** Time of the next event, or Infinity. */
  private nextEvent(): number {
    let next = this.wakeAtMs;
    for (let id = 0; id < STREAMS_MAX; id++)
      if (this.streamEventAtMs[id]! < next) next = this.streamEventAtMs[id]!;
    for (let slot = 0; slot < this.bfdOpen.length; slot++)
      if (this.bfdEventAtMs[slot]! < next) next = this.bfdEventAtMs[slot]!;
    for (let id = 0; id < this.socketCount; id++)
      if (this.eventAtMs[id]! < next) next = this.eventAtMs[id]!;
    return next;
  }

  private dispatch(id: number): void {
    this.eventAtMs[id] = NONE;
    const client = this.client!;
    const kind = this.eventKind[id];
    if (kind === 1) return client.socketConnected(id);
    if (kind === 2) return client.socketFailed(id);
    const receive = this.receive[id]!;
    const length = this.replyLength[id]!;
    for (let i = 0; i < length && i < receive.length; i++) receive[i] = this.replies[id]![i]!;
    client.datagramReceived(id, length, this.replyFromPeer[id] === 1);
  }

  private dispatchStreams(atMs: number): boolean {
    let any = false;
    for (let id = 0; id < STREAMS_MAX; id++) {
      if (this.streamEventAtMs[id] !== atMs) continue;
      this.streamEventAtMs[id] = NONE;
      any = true;
      if (this.streamEventKind[id] === 0) {
        this.streamOpen[id] = 1;
        this.client!.streamConnected(id);
      } else {
        this.client!.streamClosed(id);
      }
    }
    return any;
  }

  /**
   * Plays every event up to `untilMs` in time order (replies before the wake-up at the same time).
   */
  runUntil(untilMs: number): void {
    const client = this.client;
    if (client === null) throw new Error('sim: nothing attached');
    for (;;) {
      const next = this.nextEvent();
      if (next > untilMs) break;
      this.timeMs = next;
      let delivered = this.dispatchStreams(next);
      if (this.dispatchBfd(next)) delivered = true;
      for (let id = 0; id < this.socketCount; id++) {
        if (this.eventAtMs[id] === next) {
          this.dispatch(id);
          delivered = true;
        }
      }
      if (!delivered && this.wakeAtMs === next) {
        this.wakeAtMs = NONE;
        client.wake();
      }
      if (this.onEvent !== null) this.onEvent();
    }
    this.timeMs = untilMs;
  }

  runFor(durationMs: number): void {
    this.runUntil(this.timeMs + durationMs);
  }
}

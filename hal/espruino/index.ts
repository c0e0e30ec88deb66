// The Espruino HAL: the firmware on an Espruino board. Binary data crosses into Espruino's dgram as
// a string (E.toString: sending a Uint8Array crashes the interpreter, ESPRUINO.md), a connect to a
// closed port throws synchronously, and time is getTime() seconds. Only the language subset of
// ESPRUINO.md is used here; build.mjs checks the bundle.

import type {
  Clock,
  Hal,
  HalClient,
  StreamListener,
  Storage,
  StreamOpenOptions,
  StreamSocket,
  TcpOpenOptions,
  TcpProbeSocket,
  UdpOpenOptions,
  UdpSocket,
} from '../../firmware/hal';

/**
 * One probe target's datagrams: they all go through the HAL's one socket of their family, whose
 * replies the HAL hands to each target sent from the address and port they come from.
 */
class EspruinoUdpSocket implements UdpSocket {
  constructor(
    private readonly hal: EspruinoHal,
    private readonly options: UdpOpenOptions,
  ) {}

  send(data: Uint8Array, length: number): void {
    const options = this.options;
    try {
      this.hal.dgrams[options.family]!.send(
        E.toString(data.subarray(0, length)),
        options.port,
        options.address,
      );
    } catch (error) {
      this.hal.attached!.socketFailed(options.socketId);
    }
  }

  /** Never called: a board does not stop (ProbeTable.close folds away there). */
  close(): void {}
}

/*
 * Espruino calls a socket's listeners (and the net.connect callback) with the socket as `this`
 * (checked on the interpreter: test/integration/espruino-real.test.ts): one function each serves
 * every connection, the owner and its attempt kept on the Espruino socket (`o`, `n`), instead of
 * closures made per connection, each a few JsVars with its scope.
 */

/**
 * Ends a connection. Espruino's socket calls throw where Node's do not (a network that is offline:
 * "Not connected to the internet"); the connection is gone then anyway, and an exception here
 * would stop the firmware part-way through a state change.
 */
function endStream(stream: EspruinoStream): void {
  try {
    stream.end();
  } catch (error) {
    // Nothing to end.
  }
}

/** A TCP probe's connection is up: the target is reachable (the connection is closed at once). */
function tcpConnected(this: EspruinoStream): void {
  const owner = this.o as EspruinoTcpSocket;
  if (this.n !== owner.attempt) return;
  owner.abort();
  owner.hal.attached!.socketConnected(owner.id);
}

/** A TCP probe's connection failed. */
function tcpFailed(this: EspruinoStream): void {
  const owner = this.o as EspruinoTcpSocket;
  if (this.n !== owner.attempt) return;
  owner.abort();
  owner.hal.attached!.socketFailed(owner.id);
}

class EspruinoTcpSocket implements TcpProbeSocket {
  private stream: EspruinoStream | null = null;
  attempt = 0;
  readonly id: number;
  private readonly address: string;
  private readonly port: number;

  constructor(
    readonly hal: EspruinoHal,
    options: TcpOpenOptions,
  ) {
    this.id = options.socketId;
    this.address = options.address;
    this.port = options.port;
  }

  connect(): void {
    this.abort();
    try {
      const stream = espruinoRequire('net').connect(
        { host: this.address, port: this.port },
        tcpConnected,
      );
      stream.o = this;
      stream.n = ++this.attempt;
      stream.on('error', tcpFailed);
      this.stream = stream;
    } catch (error) {
      this.stream = null;
      this.hal.attached!.socketFailed(this.id);
    }
  }

  abort(): void {
    this.attempt++;
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) endStream(stream);
  }

  close(): void {
    this.abort();
  }
}

/** A BGP connection is up (the connect callback; data may have come first). */
function streamUp(this: EspruinoStream): void {
  (this.o as EspruinoStreamSocket).reportConnected(this.n!);
}

/**
 * Copies a datagram's first `length` bytes to the start of `receive`, in the interpreter's native
 * code: a loop over the bytes costs a board about 0.5 ms a byte (a DNS reply of 48 bytes 26 ms on
 * the emulated Cortex-M4, twice its decode; the native copy 1 ms). The bytes are read through a
 * view of `data` itself (E.toArrayBuffer refers to the string, it does not copy it): the only thing
 * made is the view, garbage at once.
 */
export function copyBytes(receive: Uint8Array, data: string, length: number): void {
  receive.set(new Uint8Array(E.toArrayBuffer(data), 0, length));
}

/**
 * Bytes from the peer, into the session's receive buffer, a buffer's length at a time. A loop,
 * not copyBytes: the BGP session's deepest point (checking the peer's first UPDATE) comes during
 * this handler, and on the 1,700-variable build with the pin anything more held there (the
 * native copy's array or view, or the build's arrow for copyBytes in this loop) ran it out of
 * memory (test/integration/espruino-real.test.ts); a chunk comes a few times a minute, a datagram
 * every round.
 */
function streamData(this: EspruinoStream, data: string): void {
  const owner = this.o as EspruinoStreamSocket;
  if (!owner.reportConnected(this.n!)) return;
  const receive = owner.receive;
  for (let offset = 0; offset < data.length; offset += receive.length) {
    const length = Math.min(receive.length, data.length - offset);
    for (let i = 0; i < length; i++) receive[i] = data.charCodeAt(offset + i);
    owner.hal.attached!.streamReceived(owner.id, length);
  }
}

/** The send buffer is empty: a refused write may be tried again. */
function streamDrain(this: EspruinoStream): void {
  const owner = this.o as EspruinoStreamSocket;
  if (this.n !== owner.attempt) return;
  owner.unsentBytes = 0;
  if (!owner.refused) return;
  owner.refused = false;
  owner.hal.attached!.streamWritable(owner.id);
}

/** The connection is gone. */
function streamGone(this: EspruinoStream): void {
  const owner = this.o as EspruinoStreamSocket;
  if (this.n !== owner.attempt) return;
  owner.stream = null;
  owner.hal.attached!.streamClosed(owner.id);
}

/**
 * A BGP session's connection: binary crosses as strings both ways (ESPRUINO.md). Espruino runs a
 * socket's `data` callback as soon as bytes arrive but only queues the `net.connect` callback, so
 * the peer's first bytes can come before it: the first of the two reports the connection, as the
 * HAL contract promises (streamConnected before any streamReceived). Only what the board uses of
 * the options is kept (a field is a JsVar or two).
 */
class EspruinoStreamSocket implements StreamSocket {
  stream: EspruinoStream | null = null;
  attempt = 0;
  /** The attempt whose connection has been reported (streamConnected). */
  private reported = 0;
  /**
   * Bytes written since the socket last said 'drain' (its send buffer empty): Espruino holds them
   * in JsVars, so they are bounded by `writeBytesMax`.
   */
  unsentBytes = 0;
  refused = false;
  readonly id: number;
  readonly receive: Uint8Array;
  private readonly address: string;
  private readonly port: number;
  private readonly writeBytesMax: number;

  constructor(
    readonly hal: EspruinoHal,
    options: StreamOpenOptions,
  ) {
    this.id = options.streamId;
    this.receive = options.receive;
    this.address = options.address;
    this.port = options.port;
    this.writeBytesMax = options.writeBytesMax;
  }

  /** Reports the connection of `attempt` once, whichever of connect and data comes first. */
  reportConnected(attempt: number): boolean {
    if (attempt !== this.attempt) return false;
    if (this.reported !== attempt) {
      this.reported = attempt;
      this.hal.attached!.streamConnected(this.id);
    }
    return attempt === this.attempt;
  }

  connect(): void {
    this.close();
    const attempt = ++this.attempt;
    try {
      const stream = espruinoRequire('net').connect(
        { host: this.address, port: this.port },
        streamUp,
      );
      stream.o = this;
      stream.n = attempt;
      stream.on('data', streamData);
      stream.on('drain', streamDrain);
      stream.on('close', streamGone);
      this.stream = stream;
      this.unsentBytes = 0;
      this.refused = false;
    } catch (error) {
      this.hal.attached!.streamClosed(this.id);
    }
  }

  write(data: Uint8Array, length: number): boolean {
    const stream = this.stream;
    if (stream === null) return false;
    if (this.unsentBytes + length > this.writeBytesMax) {
      this.refused = true;
      return false;
    }
    try {
      stream.write(E.toString(data.subarray(0, length)));
    } catch (error) {
      // Espruino's write throws once the interpreter has closed the connection but before its
      // queued 'close' has reached us ("This socket is closed": libs/network/socketserver.c),
      // and while the network is offline. Nothing was written: the 'close' that follows, or the
      // session's own timers, end the session, which then reconnects.
      return false;
    }
    this.unsentBytes += length;
    return true;
  }

  close(): void {
    this.attempt++;
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) endStream(stream);
  }
}

/**
 * A reply goes to every target it comes from (two targets may share an address and port: the one
 * whose query it answers takes it); one from anywhere else is dropped. `this` is the HAL's socket.
 * `remote` has the declaration's type: the names a board keeps long are those the checker finds
 * declared there (build/espruino/mangle.mjs), and `remote.address` is Espruino's.
 */
function datagram(this: EspruinoDgramSocket, message: string, remote: EspruinoRemote): void {
  const hal = this.o as EspruinoHal;
  const udp = hal.udp;
  for (let t = 0; t < udp.length; t++) {
    const target = udp[t]!;
    if (target.port !== remote.port || target.address !== remote.address) continue;
    // A datagram longer than the buffer is copied as far as it goes: its decode drops it.
    const receive = target.receive;
    copyBytes(receive, message, Math.min(message.length, receive.length));
    hal.attached!.datagramReceived(target.socketId, message.length, true);
  }
}

/** The socket of a family failed: every target of that family has. */
function datagramFailed(this: EspruinoDgramSocket): void {
  const hal = this.o as EspruinoHal;
  for (let t = 0; t < hal.udp.length; t++)
    if (hal.udp[t]!.family === this.n) hal.attached!.socketFailed(hal.udp[t]!.socketId);
}

/** The HAL whose wake-up timer runs (a board has one): a timer callback gets no `this`. */
let wakeHal: EspruinoHal | null = null;

/** How soon the firmware is woken again after a wake-up that threw. */
const WAKE_RETRY_MS = 1000;

/**
 * The firmware's one timer. Its wake-up arms the next one at its end: a wake-up that threw (an
 * interpreter call that throws where Node's does not) would arm none, and with the BGP session
 * down no socket event would ever wake the firmware again, so it would never reconnect (issue 20,
 * item 5). So a wake-up that armed nothing arms a retry.
 */
function wakeup(): void {
  const hal = wakeHal!;
  hal.timer = null;
  if (E.kickWatchdog !== undefined) E.kickWatchdog();
  try {
    hal.attached!.wake();
  } finally {
    // Its own timer, not setWakeup: a second caller would keep setWakeup defined on a board.
    if (hal.timer === null) hal.timer = setTimeout(wakeup, WAKE_RETRY_MS);
  }
}

/**
 * The bound of an appended file in flash: past it, the file starts again (the ring keeps the rest).
 */
const APPEND_BYTES_MAX = 8192;

/**
 * The HAL is also the clock and, in flash (require('Storage')), the storage: replace is
 * Storage.write, one call; an appended file is a StorageFile (append mode), erased when it reaches
 * its bound. One object: each class of its own costs a board JsVars.
 */
export class EspruinoHal implements Hal, Clock, Storage {
  readonly clock: Clock;
  readonly storage: Storage | null;
  attached: HalClient | null = null;
  /** The one UDP socket of each address family, opened with its first target. */
  dgrams: { [family: number]: EspruinoDgramSocket | undefined } = {};
  /** Every UDP target, for the replies. */
  readonly udp: UdpOpenOptions[] = [];
  timer: unknown = null;
  private lastMs = 0;
  readError = '';

  constructor() {
    this.clock = this;
    this.storage = this;
  }

  nowMs(): number {
    const nowMs = getTime() * 1000;
    if (nowMs > this.lastMs) this.lastMs = nowMs;
    return this.lastMs;
  }

  attach(client: HalClient): void {
    this.attached = client;
  }

  openUdp(options: UdpOpenOptions): UdpSocket {
    const family = options.family;
    const udp = this.udp;
    udp.push(options);
    if (this.dgrams[family] === undefined) {
      const socket = espruinoRequire('dgram').createSocket(family === 4 ? 'udp4' : 'udp6');
      socket.o = this;
      socket.n = family;
      socket.on('message', datagram);
      socket.on('error', datagramFailed);
      socket.bind(0);
      this.dgrams[family] = socket;
    }
    return new EspruinoUdpSocket(this, options);
  }

  openTcp(options: TcpOpenOptions): TcpProbeSocket {
    return new EspruinoTcpSocket(this, options);
  }

  openStream(options: StreamOpenOptions): StreamSocket {
    return new EspruinoStreamSocket(this, options);
  }

  /** The board does not listen: the config check refuses passive peers for it. */
  listen(): StreamListener {
    return { close(): void {} };
  }

  /** Four bytes from each 32-bit value: a call and a turn of the loop cost a board more. */
  fillRandom(target: Uint8Array): void {
    const hardware = E.hwRand;
    for (let i = 0; i < target.length; i += 4) {
      const value = (hardware !== undefined ? hardware() : Math.random() * 4294967296) | 0;
      target[i] = value & 0xff;
      target[i + 1] = (value >> 8) & 0xff;
      target[i + 2] = (value >> 16) & 0xff;
      target[i + 3] = (value >> 24) & 0xff;
    }
  }

  setWakeup(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer as number);
    wakeHal = this;
    this.timer = setTimeout(wakeup, Math.max(0, atMs - this.nowMs()));
  }

  wallClockMs(): number {
    return Date.now();
  }

  wallClockIso(): string {
    return new Date().toISOString();
  }

  log(line: string): void {
    console.log(Math.round(this.nowMs()) + ' ' + line);
  }

  emit(line: string): void {
    console.log(line);
  }

  read(name: string): string | null {
    this.readError = '';
    try {
      const file = espruinoRequire('Storage').open(name, 'r');
      let text = '';
      for (
        let chunk = file.read(256), guard = 0;
        chunk !== undefined && guard < 64;
        chunk = file.read(256), guard++
      ) {
        text += chunk;
      }
      if (text !== '') return text;
      const value = espruinoRequire('Storage').read(name);
      return value === undefined ? null : value;
    } catch (error) {
      this.readError = 'cannot be read';
      return null;
    }
  }

  replace(name: string, text: string): boolean {
    try {
      return espruinoRequire('Storage').write(name, text);
    } catch (error) {
      return false;
    }
  }

  appendLine(name: string, line: string): boolean {
    try {
      const file = espruinoRequire('Storage').open(name, 'a');
      if (file.getLength() + line.length > APPEND_BYTES_MAX) file.erase();
      espruinoRequire('Storage')
        .open(name, 'a')
        .write(line + '\n');
      return true;
    } catch (error) {
      return false;
    }
  }
}

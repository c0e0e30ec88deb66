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

class EspruinoTcpSocket implements TcpProbeSocket {
  private stream: EspruinoStream | null = null;
  private attempt = 0;

  constructor(
    private readonly hal: EspruinoHal,
    private readonly options: TcpOpenOptions,
  ) {}

  connect(): void {
    this.abort();
    const self = this;
    const attempt = ++this.attempt;
    const client = this.hal.attached!;
    const id = this.options.socketId;
    try {
      this.stream = espruinoRequire('net').connect(
        { host: this.options.address, port: this.options.port },
        () => {
          if (attempt !== self.attempt) return;
          self.abort();
          client.socketConnected(id);
        },
      );
      this.stream.on('error', () => {
        if (attempt !== self.attempt) return;
        self.abort();
        client.socketFailed(id);
      });
    } catch (error) {
      this.stream = null;
      client.socketFailed(id);
    }
  }

  abort(): void {
    this.attempt++;
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) stream.end();
  }

  close(): void {
    this.abort();
  }
}

/**
 * A BGP session's connection: binary crosses as strings both ways (ESPRUINO.md). Espruino runs a
 * socket's `data` callback as soon as bytes arrive but only queues the `net.connect` callback, so
 * the peer's first bytes can come before it: the first of the two reports the connection, as the
 * HAL contract promises (streamConnected before any streamReceived).
 */
class EspruinoStreamSocket implements StreamSocket {
  private stream: EspruinoStream | null = null;
  private attempt = 0;
  /** The attempt whose connection has been reported (streamConnected). */
  private reported = 0;
  /**
   * Bytes written since the socket last said 'drain' (its send buffer empty): Espruino holds them
   * in JsVars, so they are bounded by `writeBytesMax`.
   */
  private unsentBytes = 0;
  private refused = false;

  constructor(
    private readonly hal: EspruinoHal,
    private readonly options: StreamOpenOptions,
  ) {}

  /** Reports the connection of `attempt` once, whichever of connect and data comes first. */
  private reportConnected(attempt: number): boolean {
    if (attempt !== this.attempt) return false;
    if (this.reported !== attempt) {
      this.reported = attempt;
      this.hal.attached!.streamConnected(this.options.streamId);
    }
    return attempt === this.attempt;
  }

  connect(): void {
    this.close();
    const self = this;
    const attempt = ++this.attempt;
    const client = this.hal.attached!;
    const id = this.options.streamId;
    try {
      const stream = espruinoRequire('net').connect(
        { host: this.options.address, port: this.options.port },
        () => {
          self.reportConnected(attempt);
        },
      );
      const receive = this.options.receive;
      stream.on('data', (data) => {
        if (!self.reportConnected(attempt)) return;
        for (let offset = 0; offset < data.length; offset += receive.length) {
          const length = Math.min(receive.length, data.length - offset);
          for (let i = 0; i < length; i++) receive[i] = data.charCodeAt(offset + i);
          client.streamReceived(id, length);
        }
      });
      stream.on('drain', () => {
        if (attempt !== self.attempt) return;
        self.unsentBytes = 0;
        if (!self.refused) return;
        self.refused = false;
        client.streamWritable(id);
      });
      stream.on('close', () => {
        if (attempt !== self.attempt) return;
        self.stream = null;
        client.streamClosed(id);
      });
      this.stream = stream;
      this.unsentBytes = 0;
      this.refused = false;
    } catch (error) {
      client.streamClosed(id);
    }
  }

  write(data: Uint8Array, length: number): boolean {
    if (this.stream === null) return false;
    if (this.unsentBytes + length > this.options.writeBytesMax) {
      this.refused = true;
      return false;
    }
    this.unsentBytes += length;
    this.stream.write(E.toString(data.subarray(0, length)));
    return true;
  }

  close(): void {
    this.attempt++;
    const stream = this.stream;
    this.stream = null;
    if (stream !== null) stream.end();
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
  private readonly udp: UdpOpenOptions[] = [];
  private timer: unknown = null;
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
      const self = this;
      const socket = espruinoRequire('dgram').createSocket(family === 4 ? 'udp4' : 'udp6');
      // A reply goes to every target it comes from (two targets may share an address and port:
      // the one whose query it answers takes it); one from anywhere else is dropped.
      socket.on('message', (message, remote) => {
        for (let t = 0; t < udp.length; t++) {
          const target = udp[t]!;
          if (target.port !== remote.port || target.address !== remote.address) continue;
          const receive = target.receive;
          for (let i = 0; i < message.length && i < receive.length; i++)
            receive[i] = message.charCodeAt(i);
          self.attached!.datagramReceived(target.socketId, message.length, true);
        }
      });
      socket.on('error', () => {
        for (let t = 0; t < udp.length; t++)
          if (udp[t]!.family === family) self.attached!.socketFailed(udp[t]!.socketId);
      });
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

  fillRandom(target: Uint8Array): void {
    const hardware = E.hwRand;
    for (let i = 0; i < target.length; i++) {
      target[i] = (hardware !== undefined ? hardware() : Math.random() * 4294967296) & 0xff;
    }
  }

  setWakeup(atMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer as number);
    const self = this;
    this.timer = setTimeout(
      () => {
        self.timer = null;
        if (E.kickWatchdog !== undefined) E.kickWatchdog();
        self.attached!.wake();
      },
      Math.max(0, atMs - this.nowMs()),
    );
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

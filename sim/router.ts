// A simulated BGP router on the other end of the built-in speaker's session (stream 0 of the sim
// HAL): it answers OPEN with its own and a KEEPALIVE, keeps the session alive, and builds its
// table from the UPDATEs it receives (IPv4 withdrawn routes and NLRI: the simulated services
// announce IPv4 prefixes). A session that goes down takes its routes with it, as a router without
// graceful restart does. The world can reset it, make it slow, flood it with ROUTE-REFRESH, or
// have it send garbage.

import { encodeKeepalive, encodeOpen, FAMILY_IPV4, MessageType } from '../firmware/bgp/codec';
import type { SimHal } from '../hal/sim/index';

const STREAM = 0;
const HOLD_TIME_S = 9;
const KEEPALIVE_MS = 3000;
/** Passes of read-and-answer per pump: each answer may make the speaker write again. */
const PASSES_MAX = 8;

export class SimRouter {
  established: boolean;
  readonly table: { [prefix: string]: boolean };
  private connected: boolean;
  private received: number[];
  private lastKeepaliveMs: number;
  private readonly scratch: Uint8Array;
  updates: number;

  constructor() {
    this.established = false;
    this.table = {};
    this.connected = false;
    this.received = [];
    this.lastKeepaliveMs = 0;
    this.scratch = new Uint8Array(4096);
    this.updates = 0;
  }

  /** The session is gone (a reset, a crash of the speaker): its routes go with it. */
  down(): void {
    this.established = false;
    this.connected = false;
    this.received = [];
    for (const prefix of Object.keys(this.table)) delete this.table[prefix];
  }

  /** Reads what the speaker wrote and answers it; keeps the session alive. */
  pump(hal: SimHal): void {
    if (hal.streamOpen[STREAM] === 0) {
      if (this.connected) this.down();
      return;
    }
    if (!this.connected) {
      this.connected = true;
      this.lastKeepaliveMs = hal.timeMs;
    }
    for (let pass = 0; pass < PASSES_MAX && hal.streamOpen[STREAM] === 1; pass++) {
      const chunks = hal.takeWritten(STREAM);
      if (chunks.length === 0) break;
      for (const chunk of chunks)
        for (let i = 0; i < chunk.length; i++) this.received.push(chunk[i]!);
      this.readMessages(hal);
    }
    if (hal.streamOpen[STREAM] === 0) return this.down();
    if (this.established && hal.timeMs - this.lastKeepaliveMs >= KEEPALIVE_MS) {
      this.lastKeepaliveMs = hal.timeMs;
      this.send(hal, encodeKeepalive(this.scratch, 0));
    }
  }

  private send(hal: SimHal, length: number): void {
    hal.deliver(STREAM, this.scratch.slice(0, length));
  }

  private readMessages(hal: SimHal): void {
    while (this.received.length >= 19 && hal.streamOpen[STREAM] === 1) {
      const length = (this.received[16]! << 8) | this.received[17]!;
      if (length < 19) return this.down();
      if (this.received.length < length) return;
      const message = this.received.splice(0, length);
      const type = message[18];
      if (type === MessageType.Open) {
        const routerId = new Uint8Array([10, 9, 0, 1]);
        const options = { localAs: 65000, holdTimeS: HOLD_TIME_S, routerId, families: FAMILY_IPV4 };
        this.send(hal, encodeOpen(this.scratch, 0, options));
        this.send(hal, encodeKeepalive(this.scratch, 0));
      }
      if (type === MessageType.Keepalive) this.established = true;
      if (type === MessageType.Update) this.readUpdate(message);
      if (type === MessageType.Notification) this.down();
    }
  }

  /** IPv4 withdrawn routes, then the attributes (skipped), then the NLRI. */
  private readUpdate(message: number[]): void {
    this.updates++;
    const withdrawnLength = (message[19]! << 8) | message[20]!;
    const withdrawnEnd = 21 + withdrawnLength;
    this.readPrefixes(message, 21, withdrawnEnd, false);
    const attributesLength = (message[withdrawnEnd]! << 8) | message[withdrawnEnd + 1]!;
    this.readPrefixes(message, withdrawnEnd + 2 + attributesLength, message.length, true);
  }

  private readPrefixes(message: number[], start: number, end: number, announced: boolean): void {
    for (let at = start; at < end;) {
      const bits = message[at++]!;
      const octets = [0, 0, 0, 0];
      for (let i = 0; i < (bits + 7) >> 3; i++) octets[i] = message[at++]!;
      this.table[octets.join('.') + '/' + bits] = announced;
    }
  }

  /** A hostile or broken peer: `count` ROUTE-REFRESH messages, or bytes that are not BGP. */
  flood(hal: SimHal, count: number, garbage: boolean): void {
    if (hal.streamOpen[STREAM] === 0) return;
    const refresh = [
      255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    ];
    const one = garbage ? [1, 2, 3, 4, 5, 6, 7, 8] : refresh.concat([0, 23, 5, 0, 1, 0, 1]);
    const bytes: number[] = [];
    for (let i = 0; i < count; i++) for (const byte of one) bytes.push(byte);
    hal.deliver(STREAM, new Uint8Array(bytes));
  }
}

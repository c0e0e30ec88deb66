// One BFD session in asynchronous mode (RFC 5880 6), the active role, without demand mode, echo
// or authentication: the state machine (6.2, 6.8.6), the timers (6.8.2 to 6.8.4, 6.8.7) with
// their jitter, and poll sequences (6.5). Every state change goes through `change`, which asserts
// that the RFC allows it and carries the diagnostic (the reason) with it. Times are deadlines
// checked on `tick`, the firmware's single wake-up; packets are encoded into the session's own
// buffer and decoded into a record the owner shares. Nothing here allocates per packet.

import { assert } from '../assert';
import type { UdpSocket } from '../hal';
import {
  BfdControl,
  BfdState,
  CONTROL_BYTES,
  decodeControl,
  Diagnostic,
  encodeControl,
  Flag,
  Verdict,
  Word,
} from './codec';

/**
 * RFC 5880 6.8.3: "When bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval
 * to a value of not less than one second."
 */
export const SLOW_TX_MS = 1000;

/**
 * Per from-state, the states the RFC 5880 6.2 diagram allows as next (bit N: state N; AdminDown 0,
 * Down 1, Init 2, Up 3). Plain numbers: a board build, which has no BFD, then drops the table.
 */
const ALLOWED: readonly number[] = [
  // AdminDown: to Down when enabled again (6.8.16).
  0b0010,
  // Down: to Init (the peer is Down) or Up (the peer is Init), or AdminDown.
  0b1101,
  // Init: to Up, or Down (the peer AdminDown, or the detection time), or AdminDown.
  0b1011,
  // Up: to Down (the peer Down or AdminDown, or the detection time), or AdminDown.
  0b0011,
];

/** What a session needs from the set that owns it (firmware/bfd/bfd.ts). */
export interface BfdSessionOwner {
  /** The session went from `previous` to its `state` (its `diagnostic` says why). */
  changed(session: BfdSession, previous: BfdState, nowMs: number): void;
  /** A random byte, for the transmit jitter (RFC 5880 6.8.7). */
  randomByte(): number;
}

export interface BfdSessionOptions {
  /** The BGP peer's index, and its address for the log and the metrics. */
  readonly index: number;
  readonly name: string;
  /** What this system asks for and offers: the desired transmit and required receive interval. */
  readonly intervalMs: number;
  /** bfd.DetectMult: the peer declares us down after this many intervals without a packet. */
  readonly multiplier: number;
  /** bfd.LocalDiscr: nonzero and unique among this system's sessions (RFC 5880 6.8.1). */
  readonly localDiscriminator: number;
  readonly owner: BfdSessionOwner;
  readonly socket: UdpSocket;
  /** Where the HAL copies this session's received packets (at least CONTROL_BYTES). */
  readonly receive: Uint8Array;
  /** Shared by every session: the record received packets are decoded into. */
  readonly packet: BfdControl;
}

export class BfdSession {
  /** bfd.SessionState, bfd.RemoteSessionState, bfd.LocalDiag (RFC 5880 6.8.1). */
  state: BfdState;
  remoteState: BfdState;
  diagnostic: Diagnostic;
  /** Whether the session was ever Up: only then does a Down hold the BGP session back. */
  everUp: boolean;
  /**
   * The 32-bit variables (RFC 5880 6.8.1) in microseconds, and the discriminators: see the
   * `Var` indices below.
   */
  readonly vars: Uint32Array;
  /** bfd.RemoteDetectMult as last received (0: none yet). */
  remoteMultiplier: number;
  /** A poll sequence is under way (RFC 5880 6.5): periodic packets carry P until an F comes. */
  polling: boolean;
  /**
   * Deadlines and figures in milliseconds (doubles in a typed array: never a heap number). See
   * the `Time` indices below.
   */
  readonly times: Float64Array;
  /** Statistics for status, metrics and tests. */
  transitions: number;
  packetsSent: number;
  packetsReceived: number;
  packetsDiscarded: number;
  /** The last discarded packet's reason (Verdict), 0 for none. */
  lastDiscard: number;
  private readonly transmitBuffer: Uint8Array;
  private readonly transmitRecord: BfdControl;

  constructor(readonly options: BfdSessionOptions) {
    assert(options.localDiscriminator !== 0, 'a local discriminator is nonzero');
    assert(options.multiplier >= 1 && options.multiplier <= 255, 'a detect multiplier fits');
    this.state = BfdState.Down;
    this.remoteState = BfdState.Down;
    this.diagnostic = Diagnostic.None;
    this.everUp = false;
    this.vars = new Uint32Array(6);
    this.vars[Var.LocalDiscriminator] = options.localDiscriminator;
    this.vars[Var.DesiredMinTxUs] = Math.max(SLOW_TX_MS, options.intervalMs) * 1000;
    this.vars[Var.RequiredMinRxUs] = options.intervalMs * 1000;
    // RFC 5880 6.8.1: bfd.RemoteMinRxInterval "MUST be initialized to 1".
    this.vars[Var.RemoteMinRxUs] = 1;
    this.remoteMultiplier = 0;
    this.polling = false;
    this.times = new Float64Array(4);
    this.times[Time.NextTransmitMs] = 0;
    this.times[Time.DetectAtMs] = Infinity;
    this.transitions = 0;
    this.packetsSent = 0;
    this.packetsReceived = 0;
    this.packetsDiscarded = 0;
    this.lastDiscard = 0;
    this.transmitBuffer = new Uint8Array(CONTROL_BYTES);
    this.transmitRecord = new BfdControl();
  }

  /**
   * The one way the state changes: asserts that RFC 5880 6.2 allows it, sets the diagnostic, and
   * adjusts the transmit interval (6.8.3: at least a second while not Up, and a poll sequence when
   * it changes); the new state goes out at once (6.8.7).
   */
  private change(next: BfdState, diagnostic: Diagnostic, nowMs: number): void {
    const previous = this.state;
    assert((ALLOWED[previous]! & (1 << next)) !== 0, 'RFC 5880 6.2 allows the transition');
    this.state = next;
    this.diagnostic = diagnostic;
    this.transitions++;
    if (next === BfdState.Up) this.everUp = true;
    const desiredMs =
      next === BfdState.Up
        ? this.options.intervalMs
        : Math.max(SLOW_TX_MS, this.options.intervalMs);
    if (desiredMs * 1000 !== this.vars[Var.DesiredMinTxUs]) {
      // RFC 5880 6.8.3: a changed bfd.DesiredMinTxInterval starts a poll sequence. It only ever
      // shrinks on Up, where it may take effect at once; it grows only when leaving Up.
      this.vars[Var.DesiredMinTxUs] = desiredMs * 1000;
      this.polling = next !== BfdState.AdminDown;
    }
    this.options.owner.changed(this, previous, nowMs);
    this.transmit(nowMs, false);
  }

  /** The negotiated transmit interval (RFC 5880 6.8.7): the slower of what we want and allow. */
  transmitIntervalMs(): number {
    const desired = this.vars[Var.DesiredMinTxUs]!;
    const remote = this.vars[Var.RemoteMinRxUs]!;
    return (desired > remote ? desired : remote) / 1000;
  }

  /**
   * The detection time (RFC 5880 6.8.4, asynchronous mode): the peer's Detect Mult times the
   * slower of our required receive interval and its desired transmit interval.
   */
  detectionTimeMs(): number {
    const required = this.vars[Var.RequiredMinRxUs]!;
    const remote = this.vars[Var.RemoteDesiredMinTxUs]!;
    return Math.ceil((this.remoteMultiplier * (required > remote ? required : remote)) / 1000);
  }

  /**
   * Runs the timers. The next deadline is the sooner of `times[NextTransmitMs]` and
   * `times[DetectAtMs]`: read from the typed array, since a double returned would be a heap number.
   */
  tick(nowMs: number): void {
    const times = this.times;
    if (nowMs >= times[Time.DetectAtMs]!) this.expire(nowMs);
    if (nowMs >= times[Time.NextTransmitMs]!) {
      const lateMs = nowMs - times[Time.NextTransmitMs]!;
      if (lateMs > times[Time.LateMsMax]! && this.packetsSent > 0) times[Time.LateMsMax] = lateMs;
      this.transmit(nowMs, false);
    }
  }

  /** A detection time passed without a packet from the peer (RFC 5880 6.8.4). */
  private expire(nowMs: number): void {
    this.times[Time.DetectAtMs] = Infinity;
    // RFC 5880 6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a Detection Time without a
    // packet; 6.8.18: bfd.RemoteMinRxInterval goes back to its initial 1.
    this.vars[Var.RemoteDiscriminator] = 0;
    this.vars[Var.RemoteMinRxUs] = 1;
    this.remoteState = BfdState.Down;
    // RFC 5880 6.8.4: in Init or Up the session has gone down, diagnostic 1.
    if (this.state === BfdState.Init || this.state === BfdState.Up)
      this.change(BfdState.Down, Diagnostic.ControlDetectionTimeExpired, nowMs);
  }

  /**
   * Sends a Control packet now: a periodic one, or `final` the answer to a poll (RFC 5880 6.8.7:
   * P clear, F set). Schedules the next periodic one after the jittered interval.
   */
  private transmit(nowMs: number, final: boolean): void {
    // RFC 5880 6.8.7: "A system MUST NOT periodically transmit BFD Control packets if
    // bfd.RemoteMinRxInterval is zero." (An answer to a poll is not periodic.)
    const intervalMs = this.transmitIntervalMs();
    if (!final) this.times[Time.NextTransmitMs] = nowMs + Math.round(intervalMs * this.jitter());
    if (!final && this.vars[Var.RemoteMinRxUs] === 0) return;
    const packet = this.transmitRecord;
    const vars = this.vars;
    packet.diagnostic = this.diagnostic;
    packet.state = this.state;
    // RFC 5880 6.5: never P and F together; C clear: BFD shares fate with the control plane here.
    packet.flags = final ? Flag.Final : this.polling ? Flag.Poll : 0;
    packet.detectMultiplier = this.options.multiplier;
    packet.words[Word.MyDiscriminator] = vars[Var.LocalDiscriminator]!;
    packet.words[Word.YourDiscriminator] = vars[Var.RemoteDiscriminator]!;
    packet.words[Word.DesiredMinTxUs] = vars[Var.DesiredMinTxUs]!;
    packet.words[Word.RequiredMinRxUs] = vars[Var.RequiredMinRxUs]!;
    // No echo function: a Required Min Echo RX Interval of zero (RFC 5880 6.8.9).
    packet.words[Word.RequiredMinEchoRxUs] = 0;
    const length = encodeControl(this.transmitBuffer, 0, packet);
    this.options.socket.send(this.transmitBuffer, length);
    this.packetsSent++;
  }

  /**
   * The jitter factor (RFC 5880 6.8.7): the interval reduced by 0 to 25%, and to at most 90% of
   * it when bfd.DetectMult is 1. Intervals are rounded to the millisecond: whole milliseconds
   * keep the simulator's times small integers, never heap numbers.
   */
  private jitter(): number {
    const spread = this.options.multiplier === 1 ? 0.15 : 0.25;
    return 0.75 + (this.options.owner.randomByte() / 255) * spread;
  }

  /** A datagram of `length` bytes from the peer is in the receive buffer (RFC 5880 6.8.6). */
  received(length: number, nowMs: number): void {
    const packet = this.options.packet;
    const verdict = decodeControl(this.options.receive, length, packet);
    if (verdict !== Verdict.Valid) return this.discard(verdict);
    const words = packet.words;
    const vars = this.vars;
    // RFC 5880 6.8.6: a nonzero Your Discriminator selects the session; none found: discard.
    // (RFC 5881 3: with zero, the source address has selected it already, in the HAL.)
    const yours = words[Word.YourDiscriminator]!;
    if (yours !== 0 && yours !== vars[Var.LocalDiscriminator]) return this.discard(Discard.Unknown);
    // RFC 5880 6.8.6: "If bfd.SessionState is AdminDown: Discard the packet."
    if (this.state === BfdState.AdminDown) return this.discard(Discard.AdminDown);
    this.packetsReceived++;
    // RFC 5880 6.8.6: the peer's discriminator, state, demand bit (unused), intervals.
    vars[Var.RemoteDiscriminator] = words[Word.MyDiscriminator]!;
    this.remoteState = packet.state;
    this.remoteMultiplier = packet.detectMultiplier;
    vars[Var.RemoteDesiredMinTxUs] = words[Word.DesiredMinTxUs]!;
    const remoteMinRx = words[Word.RequiredMinRxUs]!;
    if (remoteMinRx !== vars[Var.RemoteMinRxUs]) {
      vars[Var.RemoteMinRxUs] = remoteMinRx;
      // RFC 5880 6.8.7: the transmit interval is recalculated when bfd.RemoteMinRxInterval
      // changes: a shorter one takes effect now rather than after the old, longer one.
      const soonestMs = nowMs + Math.round(this.transmitIntervalMs() * this.jitter());
      if (soonestMs < this.times[Time.NextTransmitMs]!) this.times[Time.NextTransmitMs] = soonestMs;
    }
    // RFC 5880 6.8.6: "If a Poll Sequence is being transmitted by the local system and the Final
    // (F) bit in the received packet is set, the Poll Sequence MUST be terminated."
    if (this.polling && (packet.flags & Flag.Final) !== 0) this.polling = false;
    // RFC 5880 6.8.4: the detection timer restarts with every valid packet.
    this.times[Time.DetectAtMs] = nowMs + this.detectionTimeMs();
    this.times[Time.LastReceivedMs] = nowMs;
    this.step(packet.state, nowMs);
    // RFC 5880 6.8.7: a Poll is answered "as soon as practicable" with F set and P clear.
    if ((packet.flags & Flag.Poll) !== 0) this.transmit(nowMs, true);
  }

  /** The state machine's step on a valid packet whose State field is `remote` (RFC 5880 6.8.6). */
  private step(remote: BfdState, nowMs: number): void {
    const state = this.state;
    if (remote === BfdState.AdminDown) {
      if (state !== BfdState.Down)
        this.change(BfdState.Down, Diagnostic.NeighborSignaledSessionDown, nowMs);
    } else if (state === BfdState.Down) {
      if (remote === BfdState.Down) this.change(BfdState.Init, Diagnostic.None, nowMs);
      else if (remote === BfdState.Init) this.change(BfdState.Up, Diagnostic.None, nowMs);
    } else if (state === BfdState.Init) {
      if (remote === BfdState.Init || remote === BfdState.Up)
        this.change(BfdState.Up, Diagnostic.None, nowMs);
    } else if (remote === BfdState.Down) {
      this.change(BfdState.Down, Diagnostic.NeighborSignaledSessionDown, nowMs);
    }
  }

  private discard(reason: number): void {
    this.packetsDiscarded++;
    this.lastDiscard = reason;
  }

  /**
   * Takes the session administratively down (RFC 5880 6.8.16), diagnostic 7, and tells the peer
   * `copies` times at once: a stopping appliance cannot wait the detection time RFC 5882 8 would
   * have it wait, so it repeats itself against a lost datagram instead. The peer then takes no
   * action in its control protocols (RFC 5882 4.2).
   */
  adminDown(nowMs: number, copies: number): void {
    if (this.state !== BfdState.AdminDown)
      this.change(BfdState.AdminDown, Diagnostic.AdministrativelyDown, nowMs);
    for (let i = 1; i < copies; i++) this.transmit(nowMs, false);
    this.times[Time.NextTransmitMs] = Infinity;
    this.times[Time.DetectAtMs] = Infinity;
  }
}

/** Indices of `BfdSession.vars`: RFC 5880 6.8.1's variables, intervals in microseconds. */
export const enum Var {
  LocalDiscriminator = 0,
  RemoteDiscriminator = 1,
  DesiredMinTxUs = 2,
  RequiredMinRxUs = 3,
  RemoteMinRxUs = 4,
  /** The peer's Desired Min TX Interval as last received (for the detection time). */
  RemoteDesiredMinTxUs = 5,
}

/** Indices of `BfdSession.times`. */
export const enum Time {
  NextTransmitMs = 0,
  /** When the detection time runs out (Infinity: not running: nothing received yet). */
  DetectAtMs = 1,
  LastReceivedMs = 2,
  /** The most a periodic transmit was late on its deadline (the loop was busy). */
  LateMsMax = 3,
}

/** Discards past the codec's (Verdict): no session for the discriminator, or AdminDown. */
export const enum Discard {
  Unknown = 10,
  AdminDown = 11,
}

export const DISCARD_NAMES: readonly string[] = ['unknown-discriminator', 'admin-down'];

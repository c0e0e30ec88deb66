// One BGP session (RFC 4271 8), for an originate-only speaker that connects out: Idle -> Connect ->
// OpenSent -> OpenConfirm -> Established, and back to Idle on any error, with a reconnect after an
// exponential backoff with jitter. Timers are deadlines checked on `tick` (the firmware's single
// wake-up); received bytes are framed in place in a fixed buffer; every transition goes through
// `enter`, with a reason for the log. The speaker owns the routes: the session only carries them.

import { assert } from '../assert';
import type { BgpPeerConfig } from '../config';
import type { Hal, StreamSocket } from '../hal';
import {
  BgpError,
  CeaseSubcode,
  checkHeader,
  checkUpdate,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  ERROR_CODE_NAMES,
  ErrorCode,
  HEADER_BYTES,
  MESSAGE_BYTES_MAX,
  MessageType,
  OpenInfo,
  OpenSubcode,
  parseOpen,
  UpdateVerdict,
} from './codec';

export const enum SessionState {
  Idle = 0,
  Connect = 1,
  OpenSent = 2,
  OpenConfirm = 3,
  Established = 4,
}

export const SESSION_STATE_NAMES: readonly string[] = [
  'idle',
  'connect',
  'opensent',
  'openconfirm',
  'established',
];

const CONNECT_TIMEOUT_MS = 5000;
/**
 * Our own OPEN, KEEPALIVE and NOTIFICATION are encoded here (UPDATEs are prebuilt by the speaker):
 * an OPEN with every capability we offer is under 64 bytes.
 */
const TRANSMIT_BYTES = 128;
/**
 * Bytes the HAL copies in at a time (it loops over a larger chunk). Small, because a board has
 * little RAM; the frame below holds a whole message.
 */
export const RECEIVE_BYTES = 128;
/** RFC 4271 8: a large hold time (4 minutes) until the OPEN has been received. */
const OPEN_HOLD_MS = 240000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60000;

/** What the session needs from the speaker that owns it. */
export interface SessionOwner {
  /** The session reached Established: send the current state of every prefix. */
  established(session: BgpSession): void;
  /** The peer asked for our routes again (ROUTE-REFRESH). */
  refreshRequested(session: BgpSession): void;
}

export interface SessionOptions {
  readonly index: number;
  readonly peer: BgpPeerConfig;
  readonly localAs: number;
  readonly routerId: Uint8Array;
  /** The families we announce (FAMILY_IPV4 | FAMILY_IPV6). */
  readonly families: number;
  readonly hal: Hal;
  readonly owner: SessionOwner;
  /** Shared scratch buffer the HAL copies received bytes into. */
  readonly receive: Uint8Array;
  /**
   * The frame's size: a whole message of up to this many bytes is checked. A received UPDATE
   * larger than this (a board's frame is smaller than BGP's 4,096) is consumed unchecked and
   * counted: Lifeline installs no route, so it loses nothing it would act on.
   */
  readonly frameBytes: number;
}

export class BgpSession {
  state: SessionState;
  readonly name: string;
  readonly info: OpenInfo;
  /** Negotiated: families in common, hold time, whether 4-octet AS numbers are in use. */
  families: number;
  holdTimeS: number;
  as4: boolean;
  establishedAtMs: number;
  lastError: string;
  updatesSent: number;
  updatesReceived: number;
  treatAsWithdraw: number;
  establishedCount: number;
  private readonly stream: StreamSocket;
  private readonly transmit: Uint8Array;
  private readonly frame: Uint8Array;
  private frameLength: number;
  /** Bytes still to drop of an UPDATE larger than the frame. */
  private skipBytes: number;
  /** UPDATEs larger than the frame, consumed unchecked. */
  updatesUnchecked: number;
  private readonly error: BgpError;
  private readonly random: Uint8Array;
  private retryAtMs: number;
  private deadlineMs: number;
  private keepaliveAtMs: number;
  private backoffMs: number;

  constructor(readonly options: SessionOptions) {
    const peer = options.peer;
    this.state = SessionState.Idle;
    this.name = peer.address.text + (peer.port === 179 ? '' : ':' + peer.port);
    this.info = new OpenInfo();
    this.families = 0;
    this.holdTimeS = 0;
    this.as4 = false;
    this.establishedAtMs = 0;
    this.lastError = '';
    this.updatesSent = 0;
    this.updatesReceived = 0;
    this.treatAsWithdraw = 0;
    this.establishedCount = 0;
    this.transmit = new Uint8Array(TRANSMIT_BYTES);
    // Each whole message is handled as soon as it is in.
    assert(options.frameBytes >= 256 && options.frameBytes <= MESSAGE_BYTES_MAX, 'a frame size');
    this.frame = new Uint8Array(options.frameBytes);
    this.frameLength = 0;
    this.skipBytes = 0;
    this.updatesUnchecked = 0;
    this.error = new BgpError();
    this.random = new Uint8Array(1);
    this.retryAtMs = 0;
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.backoffMs = BACKOFF_MIN_MS;
    const localAddress = peer.localAddress === null ? null : peer.localAddress.text;
    this.stream = options.hal.openStream({
      streamId: options.index,
      family: peer.address.family,
      address: peer.address.text,
      port: peer.port,
      localAddress,
      receive: options.receive,
    });
  }

  private enter(next: SessionState, nowMs: number, reason: string): void {
    const previous = this.state;
    assert(next !== previous, 'a session transition changes the state');
    this.state = next;
    if (next === SessionState.Established) {
      this.establishedAtMs = nowMs;
      this.establishedCount++;
      this.backoffMs = BACKOFF_MIN_MS;
    }
    if (
      next === SessionState.Established ||
      previous === SessionState.Established ||
      next === SessionState.Idle
    ) {
      this.options.hal.log(
        'bgp peer=' +
          this.name +
          ' state=' +
          SESSION_STATE_NAMES[next] +
          ' from=' +
          SESSION_STATE_NAMES[previous] +
          ' reason=' +
          reason,
      );
    }
  }

  /**
   * A method, not a comparison inline: the state changes under calls TypeScript cannot see into.
   */
  private idle(): boolean {
    return this.state === SessionState.Idle;
  }

  /** Runs the timers; returns the next deadline. */
  tick(nowMs: number): number {
    if (this.state === SessionState.Idle) {
      if (nowMs >= this.retryAtMs) this.startConnect(nowMs);
    } else if (nowMs >= this.deadlineMs) {
      if (this.state === SessionState.Connect) this.drop(nowMs, 'connect-timeout');
      else this.fail(nowMs, ErrorCode.HoldTimerExpired, 0, 'hold-timer-expired');
    } else if (nowMs >= this.keepaliveAtMs) {
      this.send(encodeKeepalive(this.transmit, 0));
      this.keepaliveAtMs = nowMs + (this.holdTimeS * 1000) / 3;
    }
    if (this.state === SessionState.Idle) return this.retryAtMs;
    return Math.min(this.deadlineMs, this.keepaliveAtMs);
  }

  private startConnect(nowMs: number): void {
    this.enter(SessionState.Connect, nowMs, 'retry');
    this.frameLength = 0;
    this.skipBytes = 0;
    this.deadlineMs = nowMs + CONNECT_TIMEOUT_MS;
    this.keepaliveAtMs = Infinity;
    this.stream.connect();
  }

  /** Closes the connection and schedules a reconnect after the backoff, with ±25% jitter. */
  private drop(nowMs: number, reason: string): void {
    if (this.state === SessionState.Idle) return;
    this.stream.close();
    this.lastError = reason;
    this.options.hal.fillRandom(this.random);
    const jitter = 0.75 + (this.random[0]! / 255) * 0.5;
    this.retryAtMs = nowMs + this.backoffMs * jitter;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.enter(SessionState.Idle, nowMs, reason);
  }

  /** Sends the NOTIFICATION for `error` and drops the session. */
  private notify(nowMs: number, reason: string): void {
    this.send(encodeNotification(this.transmit, 0, this.error));
    this.drop(
      nowMs,
      reason + ' (sent notification ' + this.error.code + '/' + this.error.subcode + ')',
    );
  }

  private fail(nowMs: number, code: number, subcode: number, reason: string): void {
    this.error.set(code, subcode);
    this.notify(nowMs, reason);
  }

  private send(length: number): void {
    this.stream.write(this.transmit, length);
  }

  /** Writes a prebuilt message (an UPDATE) when Established. */
  write(message: Uint8Array): void {
    if (this.state !== SessionState.Established) return;
    this.stream.write(message, message.length);
    this.updatesSent++;
  }

  connected(nowMs: number): void {
    if (this.state !== SessionState.Connect) return;
    const options = this.options;
    this.send(
      encodeOpen(this.transmit, 0, {
        localAs: options.localAs,
        holdTimeS: options.peer.holdTimeS,
        routerId: options.routerId,
        families: options.families,
      }),
    );
    this.deadlineMs = nowMs + OPEN_HOLD_MS;
    this.enter(SessionState.OpenSent, nowMs, 'connected');
  }

  closed(nowMs: number): void {
    this.drop(nowMs, this.state === SessionState.Connect ? 'connect-failed' : 'connection-closed');
  }

  /**
   * `length` bytes arrived in the receive buffer: appended to the frame as far as it has room,
   * every whole message handled, and again until all are taken. The frame holds one message of
   * the largest size, so each pass takes at least one byte.
   */
  received(length: number, nowMs: number): void {
    if (this.state === SessionState.Idle || this.state === SessionState.Connect) return;
    const receive = this.options.receive;
    let taken = 0;
    while (taken < length && !this.idle()) {
      if (this.skipBytes > 0) {
        const dropped = this.skipBytes < length - taken ? this.skipBytes : length - taken;
        this.skipBytes -= dropped;
        taken += dropped;
        continue;
      }
      const room = this.frame.length - this.frameLength;
      assert(room > 0, 'the frame holds less than one whole message');
      const count = room < length - taken ? room : length - taken;
      for (let i = 0; i < count; i++) this.frame[this.frameLength + i] = receive[taken + i]!;
      this.frameLength += count;
      taken += count;
      this.handleFramed(nowMs);
    }
  }

  /** Handles every whole message in the frame and moves the unread tail to its front. */
  private handleFramed(nowMs: number): void {
    let offset = 0;
    // Bounded: every pass consumes at least one whole message of 19 bytes or more, or stops.
    while (!this.idle()) {
      const messageLength = checkHeader(this.frame, offset, this.frameLength - offset, this.error);
      if (messageLength < 0) return this.notify(nowMs, 'bad-header');
      if (messageLength === 0) {
        if (this.frameLength - offset >= HEADER_BYTES) this.oversize(offset, nowMs);
        break;
      }
      this.handle(offset, messageLength, nowMs);
      offset += messageLength;
    }
    if (this.idle()) return;
    // The unread tail moves to the front (a loop: Espruino's typed arrays have no copyWithin).
    const remaining = this.frameLength - offset;
    for (let i = 0; i < remaining; i++) this.frame[i] = this.frame[offset + i]!;
    this.frameLength = remaining;
  }

  /**
   * The message at `offset` has a valid header but may not fit the frame. An UPDATE that does
   * not is dropped as it arrives (counted); any other such message ends the session (CEASE, out
   * of resources: RFC 4486), which on a board only an OPEN or NOTIFICATION over a KB could do.
   */
  private oversize(offset: number, nowMs: number): void {
    const length = (this.frame[offset + 16]! << 8) | this.frame[offset + 17]!;
    if (length <= this.frame.length) return;
    if (this.frame[offset + 18] !== MessageType.Update || this.state !== SessionState.Established)
      return this.fail(nowMs, ErrorCode.Cease, 8, 'message-larger-than-frame length=' + length);
    this.updatesReceived++;
    this.updatesUnchecked++;
    this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
    this.skipBytes = length - (this.frameLength - offset);
    this.frameLength = offset;
  }

  private handle(offset: number, length: number, nowMs: number): void {
    const type = this.frame[offset + 18];
    if (type === MessageType.Notification) return this.receivedNotification(offset, length, nowMs);
    if (type === MessageType.Open) return this.receivedOpen(offset, length, nowMs);
    if (this.state === SessionState.OpenSent) {
      return this.fail(nowMs, ErrorCode.FiniteStateMachine, 1, 'unexpected-message'); // RFC 6608
    }
    this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
    if (type === MessageType.Keepalive) {
      if (this.state === SessionState.OpenConfirm) {
        this.enter(SessionState.Established, nowMs, 'keepalive');
        this.options.owner.established(this);
      }
      return;
    }
    if (this.state !== SessionState.Established) {
      return this.fail(nowMs, ErrorCode.FiniteStateMachine, 2, 'unexpected-message');
    }
    if (type === MessageType.RouteRefresh) return this.options.owner.refreshRequested(this);
    this.updatesReceived++;
    const verdict = checkUpdate(this.frame, offset, length, this.as4, this.error);
    if (verdict === UpdateVerdict.SessionReset) return this.notify(nowMs, 'malformed-update');
    if (verdict === UpdateVerdict.TreatAsWithdraw) this.treatAsWithdraw++;
  }

  private receivedNotification(offset: number, length: number, nowMs: number): void {
    const code = this.frame[offset + HEADER_BYTES]!;
    const subcode = this.frame[offset + HEADER_BYTES + 1]!;
    const name = ERROR_CODE_NAMES[code] ?? String(code);
    this.drop(
      nowMs,
      'received notification ' + code + '/' + subcode + ' (' + name + ') length=' + length,
    );
  }

  private receivedOpen(offset: number, length: number, nowMs: number): void {
    if (this.state !== SessionState.OpenSent) {
      return this.fail(
        nowMs,
        ErrorCode.FiniteStateMachine,
        this.state === SessionState.OpenConfirm ? 2 : 3,
        'unexpected-open',
      );
    }
    const info = this.info;
    if (!parseOpen(this.frame, offset, length, info, this.error))
      return this.notify(nowMs, 'bad-open');
    const peer = this.options.peer;
    if (info.peerAs !== peer.remoteAs) {
      this.error.withData(
        ErrorCode.Open,
        OpenSubcode.BadPeerAs,
        info.peerAs > 0xffff ? 23456 : info.peerAs,
        2,
      );
      return this.notify(nowMs, 'bad-peer-as ' + info.peerAs + ' (expected ' + peer.remoteAs + ')');
    }
    this.families = info.families & this.options.families;
    if (this.families === 0) {
      return this.fail(
        nowMs,
        ErrorCode.Open,
        OpenSubcode.UnsupportedCapability,
        'no-common-family',
      );
    }
    this.as4 = info.as4;
    this.holdTimeS = Math.min(peer.holdTimeS, info.holdTimeS);
    this.send(encodeKeepalive(this.transmit, 0));
    this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
    this.keepaliveAtMs = this.holdTimeS === 0 ? Infinity : nowMs + (this.holdTimeS * 1000) / 3;
    this.enter(SessionState.OpenConfirm, nowMs, 'open');
  }

  /** Clean shutdown: CEASE (administrative shutdown), then close; no reconnect. */
  shutdown(nowMs: number): void {
    if (this.state !== SessionState.Idle && this.state !== SessionState.Connect) {
      this.error.set(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown);
      this.send(encodeNotification(this.transmit, 0, this.error));
    }
    this.drop(nowMs, 'shutdown');
    this.retryAtMs = Infinity;
  }
}

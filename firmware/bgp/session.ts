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
  describeError,
  describeNotification,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  ErrorCode,
  Family,
  HEADER_BYTES,
  MESSAGE_BYTES_MAX,
  MessageType,
  OpenInfo,
  OpenSubcode,
  type OpenOptions,
  parseOpen,
  HANDLING_NAMES,
  UpdateVerdict,
} from './codec';
import { typed } from '../slab';
import { throttled, type Throttle } from '../throttle';
import {
  FLEET,
  GRACEFUL_RESTART,
  PASSIVE_PEERS,
  STATISTICS,
  DETAILED_LOG,
  EXTENDED_OPEN,
} from '../features';

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

/**
 * The session's timers and sizes. A const enum: esbuild writes each number where it is used, and a
 * board keeps no variable for it (a top-level constant of a module would be one).
 */
export const enum Limit {
  ConnectTimeoutMs = 5000,
  /**
   * Our own OPEN, KEEPALIVE and NOTIFICATION are encoded here (UPDATEs are prebuilt by the
   * speaker): an OPEN with every capability we offer is 73 bytes, 63 without ADD-PATH (a board
   * without `fleet`, where 64 bytes less are 4 JsVars).
   */
  TransmitBytes = 128,
  TransmitBytesWithoutAddPath = 64,
  /**
   * Bytes the HAL copies in at a time (it loops over a larger chunk). Small, because a board has
   * little RAM; the frame holds a whole message.
   */
  ReceiveBytes = 128,
  /** RFC 4271 8: a large hold time (4 minutes) until the OPEN has been received. */
  OpenHoldMs = 240000,
  BackoffMinMs = 1000,
  BackoffMaxMs = 60000,
  /**
   * The first retry after the peer's CEASE: it closed the session on purpose (an administrative
   * reset, a restart, a configuration change) and is likely to take a new one at once.
   */
  CeaseRetryMs = 200,
  /**
   * The most bytes a session may have written and not yet taken by its peer. Four of the largest
   * message (MESSAGE_BYTES_MAX) keep the pipe full on a fast link; a peer that stops reading costs
   * us no more (issue 11).
   */
  WriteBytesMax = 4 * 4096,
  /**
   * The most a peer may make us read, on average: several full tables a minute, far more than an
   * originate-only speaker needs, and a few percent of a Raspberry Pi's processor (issue 11).
   */
  ReadBytesPerSecondMax = 4 * 1024 * 1024,
  /** RFC 9687 4: the send hold time is the greater of 8 minutes and twice the hold time. */
  SendHoldMsMin = 480000,
}
export const WRITE_BYTES_MAX = Limit.WriteBytesMax;

/**
 * The kinds of line a peer can make a session write without bound, throttled per kind and peer:
 * a connection that ends before Established (failed, closed, replaced), a connection refused
 * while Established (RFC 4271 6.8), an UPDATE with errors.
 */
export const enum LogEvent {
  Connect = 0,
  Refused = 1,
  Update = 2,
  Kinds = 3,
}

/** What the session needs from the speaker that owns it. */
export interface SessionOwner {
  /** The session reached Established: send the current state of every prefix. */
  established(session: BgpSession): void;
  /** The peer asked for our routes of `family` (FAMILY_IPV4 or FAMILY_IPV6) again (RFC 2918). */
  refreshRequested(session: BgpSession, family: number): void;
  /**
   * A checked UPDATE at `bytes[offset]` (the frame: read it now, keep nothing); `treatAsWithdraw`:
   * its attributes are malformed (RFC 7606). Only when the owner keeps a fleet table.
   */
  updateReceived?(
    session: BgpSession,
    bytes: Uint8Array,
    offset: number,
    length: number,
    treatAsWithdraw: boolean,
  ): void;
  /** The session left Established: what the peer said no longer holds. */
  sessionDown?(session: BgpSession): void;
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
  /**
   * Graceful restart (RFC 4724): the restart time we offer, 0 for none. Absent on a board without
   * `restartTimeS` (LIFELINE_BGP_GR).
   */
  restartTimeS?: number;
  /**
   * ADD-PATH (RFC 7911): the families we ask the peer to send several paths for (absent: none).
   * Set after the literal, and only with `fleet`: a board without it carries no key.
   */
  addPathReceive?: number;
  /**
   * The throttle of the lines about what a peer did (the speaker's, shared by its sessions):
   * connections, malformed UPDATEs. Set after the literal, not on a board (LIFELINE_LEAN), which
   * logs none of those lines.
   */
  throttle?: Throttle;
}

/**
 * The session is the OpenInfo its peer's OPEN is parsed into (no object of its own for it):
 * `families` and `holdTimeS` hold the peer's only until `receivedOpen` has worked out the
 * negotiated ones, and the peer's AS, identifier and capabilities are there after its first OPEN.
 */
export class BgpSession implements OpenInfo {
  state: SessionState;
  readonly name: string;
  /** Negotiated: families in common, hold time, whether 4-octet AS numbers are in use. */
  families: number;
  holdTimeS: number;
  as4: boolean;
  /** An internal (iBGP) session: the peer's AS is ours (what UPDATEs may carry, RFC 7606 7.5). */
  internal: boolean;
  /** The peer's AS number, BGP identifier, route refresh and ADD-PATH Send capabilities. */
  peerAs!: number;
  identifier!: number;
  routeRefresh!: boolean;
  addPathSend!: number;
  /**
   * The peer's last OPEN came in RFC 9072's extended format: ours to it do too from then on. RFC
   * 9072 wants the usual format below 255 octets of parameters, but FRR (8.4 to 10.x at least)
   * with `extended-optional-parameters` misreads a usual OPEN (it takes the first parameter's
   * type for the extended marker: "stream has not enough bytes", 2/0; FRRouting/frr#22307), and a
   * peer that spoke it reads it. Not on a board (LIFELINE_LEAN): its OPEN stays the usual one.
   */
  extended!: boolean;
  /**
   * The families whose prefixes the peer sends with path identifiers (ADD-PATH negotiated). Not
   * even assigned on a board without `fleet`: read only where LIFELINE_FLEET is not false.
   */
  addPath!: number;
  /**
   * The statistics for `status` (the metrics, the lab): not kept on a board (LIFELINE_LEAN), where
   * nothing reads them, so they are written only where LIFELINE_LEAN is not true.
   */
  establishedAtMs!: number;
  lastError!: string;
  updatesSent!: number;
  updatesReceived!: number;
  /**
   * UPDATEs whose errors called for each RFC 7606 approach (an UPDATE with several counts once
   * per approach; a session reset only as that), and connections refused (RFC 4271 6.8).
   */
  attributeDiscard!: number;
  treatAsWithdraw!: number;
  afiSafiDisable!: number;
  updateResets!: number;
  connectionsRefused!: number;
  establishedCount!: number;
  private readonly stream: StreamSocket;
  private readonly transmit: Uint8Array;
  private readonly frame: Uint8Array;
  private frameLength: number;
  /** Bytes still to drop of an UPDATE larger than the frame. */
  private skipBytes: number;
  /** UPDATEs larger than the frame, consumed unchecked. Not on a board (nothing reads it there). */
  updatesUnchecked!: number;
  /** The last problem found in a received message (for the NOTIFICATION, the counts, the log). */
  readonly error: BgpError;
  private readonly random: Uint8Array;
  private retryAtMs: number;
  private deadlineMs: number;
  private keepaliveAtMs: number;
  private backoffMs: number;
  /** When a write was first refused and the peer has not read since (RFC 9687), or Infinity. */
  private sendBlockedAtMs: number;
  /**
   * No session has been established since boot: our OPEN says we restarted (RFC 4724 3). Only
   * where LIFELINE_BGP_GR is not false.
   */
  private restarted!: boolean;
  /**
   * A connection from the peer arrived on our listener (a passive peer). Connection collision
   * (RFC 4271 6.8): an Established session keeps its connection and the new one is refused; a
   * session still in its handshake gives way to the new connection (the peer has given up on the
   * old one). Returns whether the session takes it; `connected` follows when it does. Not on a
   * board (it does not listen).
   */
  incoming!: (nowMs: number) => boolean;
  /** `shutdown` was called: no incoming connection. Not on a board. */
  private stopped!: boolean;
  /** The throttle's names of this peer's LogEvents (`update peer=NAME`...). Not on a board. */
  private logEvents!: string[];

  constructor(readonly options: SessionOptions) {
    const peer = options.peer;
    this.state = SessionState.Idle;
    const text = peer.address.text;
    const bracketed = peer.address.family === 6 ? '[' + text + ']' : text;
    this.name = peer.port === 179 ? text : bracketed + ':' + peer.port;
    this.families = 0;
    this.holdTimeS = 0;
    this.as4 = false;
    this.internal = false;
    if (FLEET) this.addPath = 0;
    if (STATISTICS) this.zeroStatistics();
    this.transmit = typed(
      Uint8Array,
      1,
      FLEET ? Limit.TransmitBytes : Limit.TransmitBytesWithoutAddPath,
    );
    // Each whole message is handled as soon as it is in.
    assert(options.frameBytes >= 256 && options.frameBytes <= MESSAGE_BYTES_MAX, 'a frame size');
    this.frame = new Uint8Array(options.frameBytes);
    this.frameLength = 0;
    this.skipBytes = 0;
    this.error = new BgpError();
    this.random = typed(Uint8Array, 1, 1);
    this.retryAtMs = 0;
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.backoffMs = Limit.BackoffMinMs;
    this.sendBlockedAtMs = Infinity;
    if (GRACEFUL_RESTART) this.restarted = true;
    // A passive peer connects to us: we never connect out (RFC 4271 8.1.1, passive TCP).
    if (peer.passive) this.retryAtMs = Infinity;
    const localAddress = peer.localAddress === null ? null : peer.localAddress.text;
    if (PASSIVE_PEERS) {
      this.stopped = false;
      this.extended = false;
      this.logEvents = ['connect', 'refused', 'update'].map((kind) => kind + ' peer=' + this.name);
      this.incoming = (nowMs) => {
        if (!peer.passive || this.stopped) return false;
        if (this.state === SessionState.Established) {
          this.connectionsRefused++;
          if (!this.held(LogEvent.Refused, nowMs))
            options.hal.log('bgp peer=' + this.name + ' refused=second-connection (RFC 4271 6.8)');
          return false;
        }
        if (this.state !== SessionState.Idle) this.drop(nowMs, 'replaced-by-new-connection');
        this.enter(SessionState.Connect, nowMs, 'incoming');
        this.frameLength = 0;
        this.deadlineMs = nowMs + Limit.ConnectTimeoutMs;
        this.keepaliveAtMs = Infinity;
        return true;
      };
    }
    this.stream = options.hal.openStream({
      streamId: options.index,
      family: peer.address.family,
      address: peer.address.text,
      port: peer.port,
      localAddress,
      receive: options.receive,
      writeBytesMax: Limit.WriteBytesMax,
      readBytesPerSecondMax: Limit.ReadBytesPerSecondMax,
      passwordFile: peer.passwordFile,
    });
  }

  /** The statistics start at nothing (in the constructor: every field there). Not on a board. */
  private zeroStatistics(): void {
    this.establishedAtMs = 0;
    this.lastError = '';
    this.updatesSent = 0;
    this.updatesReceived = 0;
    this.attributeDiscard = 0;
    this.treatAsWithdraw = 0;
    this.afiSafiDisable = 0;
    this.updateResets = 0;
    this.connectionsRefused = 0;
    this.establishedCount = 0;
    this.updatesUnchecked = 0;
  }

  private enter(next: SessionState, nowMs: number, reason: string): void {
    const previous = this.state;
    assert(next !== previous, 'a session transition changes the state');
    this.state = next;
    if (next === SessionState.Established) {
      if (GRACEFUL_RESTART) this.restarted = false;
      if (STATISTICS) {
        this.establishedAtMs = nowMs;
        this.establishedCount++;
      }
      this.backoffMs = Limit.BackoffMinMs;
    }
    // A connection that ends before Established (refused, closed, replaced: a peer can make those
    // without bound) is throttled; the rest are the session's own events.
    const handshake = next === SessionState.Idle && previous !== SessionState.Established;
    if (handshake && DETAILED_LOG) if (this.held(LogEvent.Connect, nowMs)) return;
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
   * Whether a line about what the peer did, of kind `event` (LogEvent), is to be held back (the
   * speaker's throttle: at most THROTTLE_BURST a minute per kind and peer, the rest counted, so
   * that one peer's flood hides no other's lines). Not on a board.
   */
  held(event: LogEvent, nowMs: number): boolean {
    // Folded away on a board, and with it the last call of `throttled` but the audit's own.
    if (!DETAILED_LOG) return false;
    const throttle = this.options.throttle;
    return throttle !== undefined && throttled(throttle, this.logEvents[event]!, nowMs);
  }

  /** Runs the timers; returns the next deadline. */
  tick(nowMs: number): number {
    // RFC 9687: the send hold timer runs from the first refused write until the peer reads again.
    const sendHoldMs = Math.max(Limit.SendHoldMsMin, 2000 * this.holdTimeS);
    if (this.state === SessionState.Idle) {
      if (nowMs >= this.retryAtMs) {
        this.enter(SessionState.Connect, nowMs, 'retry');
        this.frameLength = 0;
        this.skipBytes = 0;
        this.deadlineMs = nowMs + Limit.ConnectTimeoutMs;
        this.keepaliveAtMs = Infinity;
        this.stream.connect();
      }
    } else if (nowMs >= this.deadlineMs) {
      if (this.state === SessionState.Connect) this.drop(nowMs, 'connect-timeout');
      else this.fail(nowMs, 'hold-timer-expired', ErrorCode.HoldTimerExpired);
    } else if (nowMs >= this.sendBlockedAtMs + sendHoldMs) {
      // The peer has taken nothing for the send hold time while we had bytes for it.
      this.fail(nowMs, 'send-hold-timer-expired', ErrorCode.SendHoldTimerExpired);
    } else if (nowMs >= this.keepaliveAtMs) {
      this.send(this.transmit, encodeKeepalive(this.transmit, 0));
      this.keepaliveAtMs = nowMs + (this.holdTimeS * 1000) / 3;
    }
    if (this.state === SessionState.Idle) return this.retryAtMs;
    return Math.min(this.deadlineMs, this.keepaliveAtMs, this.sendBlockedAtMs + sendHoldMs);
  }

  /** Closes the connection and schedules a reconnect after the backoff, with ±25% jitter. */
  private drop(nowMs: number, reason: string): void {
    if (this.state === SessionState.Idle) return;
    this.stream.close();
    if (STATISTICS) this.lastError = reason;
    this.options.hal.fillRandom(this.random);
    const jitter = 0.75 + (this.random[0]! / 255) * 0.5;
    this.retryAtMs = this.options.peer.passive ? Infinity : nowMs + this.backoffMs * jitter;
    this.backoffMs = Math.min(this.backoffMs * 2, Limit.BackoffMaxMs);
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.sendBlockedAtMs = Infinity;
    if (FLEET) {
      const owner = this.options.owner;
      const established = this.state === SessionState.Established;
      if (established && owner.sessionDown !== undefined) owner.sessionDown(this);
    }
    this.enter(SessionState.Idle, nowMs, reason);
  }

  /**
   * Sends the NOTIFICATION for `code` and `subcode` (0 when absent), or without a code for `error`
   * as set, and drops the session.
   */
  private fail(nowMs: number, reason: string, code?: number, subcode?: number): void {
    if (code !== undefined) this.error.set(code, subcode ?? 0);
    this.send(this.transmit, encodeNotification(this.transmit, 0, this.error));
    this.drop(
      nowMs,
      reason + ' (sent notification ' + this.error.code + '/' + this.error.subcode + ')',
    );
  }

  /** Writes; a refused write starts the send hold timer, which runs until `writable`. */
  private send(message: Uint8Array, length: number): boolean {
    const written = this.stream.write(message, length);
    if (!written && this.sendBlockedAtMs === Infinity)
      this.sendBlockedAtMs = this.options.hal.clock.nowMs();
    return written;
  }

  /**
   * Writes a prebuilt message (an UPDATE) when Established; false when the stream's write bound
   * refused it (the caller keeps it pending until `writable`).
   */
  write(message: Uint8Array): boolean {
    if (this.state !== SessionState.Established) return false;
    if (!this.send(message, message.length)) return false;
    if (STATISTICS) this.updatesSent++;
    return true;
  }

  /** The peer has read again: writes are accepted (the send hold timer stops). */
  writable(): void {
    this.sendBlockedAtMs = Infinity;
  }

  connected(nowMs: number): void {
    if (this.state !== SessionState.Connect) return;
    const options = this.options;
    const open: OpenOptions = {
      localAs: options.localAs,
      holdTimeS: options.peer.holdTimeS,
      routerId: options.routerId,
      families: options.families,
    };
    if (GRACEFUL_RESTART) {
      open.restartTimeS = options.restartTimeS ?? 0;
      open.restarted = this.restarted;
    }
    // Set after the literal: a board without `fleet` carries no ADD-PATH key at all.
    if (FLEET)
      if (options.addPathReceive !== undefined) open.addPathReceive = options.addPathReceive;
    if (EXTENDED_OPEN) open.extended = this.extended;
    this.send(this.transmit, encodeOpen(this.transmit, 0, open));
    this.deadlineMs = nowMs + Limit.OpenHoldMs;
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
    const frame = this.frame;
    let taken = 0;
    // A cast: the state changes under calls TypeScript cannot see into.
    while (taken < length && (this.state as SessionState) !== SessionState.Idle) {
      if (this.skipBytes > 0) {
        const dropped = this.skipBytes < length - taken ? this.skipBytes : length - taken;
        this.skipBytes -= dropped;
        taken += dropped;
        continue;
      }
      const room = frame.length - this.frameLength;
      assert(room > 0, 'the frame holds less than one whole message');
      const count = room < length - taken ? room : length - taken;
      for (let i = 0; i < count; i++) frame[this.frameLength + i] = receive[taken + i]!;
      this.frameLength += count;
      taken += count;
      // Every whole message in the frame. Bounded: every pass consumes at least one whole message
      // of 19 bytes or more, or stops.
      let offset = 0;
      while ((this.state as SessionState) !== SessionState.Idle) {
        const messageLength = checkHeader(frame, offset, this.frameLength - offset, this.error);
        if (messageLength < 0) return this.fail(nowMs, 'bad-header');
        if (messageLength === 0) {
          // A valid header, and perhaps a message larger than the frame. An UPDATE is dropped as
          // it arrives (counted); any other such message ends the session (CEASE, out of
          // resources: RFC 4486), which on a board only an OPEN or NOTIFICATION over a KB could do.
          const size = (frame[offset + 16]! << 8) | frame[offset + 17]!;
          if (this.frameLength - offset < HEADER_BYTES || size <= frame.length) break;
          if (frame[offset + 18] !== MessageType.Update || this.state !== SessionState.Established)
            return this.fail(nowMs, 'message-larger-than-frame length=' + size, ErrorCode.Cease, 8);
          if (STATISTICS) {
            this.updatesReceived++;
            this.updatesUnchecked++;
          }
          this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
          this.skipBytes = size - (this.frameLength - offset);
          this.frameLength = offset;
          break;
        }
        this.handle(offset, messageLength, nowMs);
        offset += messageLength;
      }
      if ((this.state as SessionState) === SessionState.Idle) return;
      // The unread tail moves to the front (a loop: Espruino's typed arrays have no copyWithin).
      const remaining = this.frameLength - offset;
      for (let i = 0; i < remaining; i++) frame[i] = frame[offset + i]!;
      this.frameLength = remaining;
    }
  }

  private handle(offset: number, length: number, nowMs: number): void {
    const frame = this.frame;
    const type = frame[offset + 18];
    const body = offset + HEADER_BYTES;
    if (type === MessageType.Notification) {
      // The peer ended an established session on purpose: try again soon, then back off as usual
      // (a CEASE before Established, such as a refused connection, backs off from the start).
      const soon = frame[body] === ErrorCode.Cease && this.state === SessionState.Established;
      if (soon) this.backoffMs = Limit.CeaseRetryMs;
      // On a board only the numbers (`6/2`): no names, no shutdown communication (codec.ts).
      const text = !DETAILED_LOG
        ? frame[body] + '/' + frame[body + 1]
        : describeNotification(frame, offset, length);
      this.drop(nowMs, 'received notification ' + text);
      if (soon) this.backoffMs = Limit.BackoffMinMs;
      return;
    }
    if (type === MessageType.Open) return this.receivedOpen(offset, length, nowMs);
    if (this.state === SessionState.OpenSent) {
      return this.fail(nowMs, 'unexpected-message', ErrorCode.FiniteStateMachine, 1); // RFC 6608
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
      return this.fail(nowMs, 'unexpected-message', ErrorCode.FiniteStateMachine, 2);
    }
    if (type === MessageType.RouteRefresh) {
      // RFC 2918 3: resend the routes of the AFI/SAFI asked for, and of no other; one we did not
      // negotiate is ignored (RFC 2918 4). Subtypes other than 0 (RFC 7313) are not ours.
      const afi = (frame[body]! << 8) | frame[body + 1]!;
      const family = afi === 1 ? Family.Ipv4 : afi === 2 ? Family.Ipv6 : 0;
      if (frame[body + 2] === 0 && frame[body + 3] === 1 && (family & this.families) !== 0)
        this.options.owner.refreshRequested(this, family);
      return;
    }
    if (STATISTICS) this.updatesReceived++;
    const error = this.error;
    const verdict = checkUpdate(frame, offset, length, this, error);
    if (STATISTICS)
      if (verdict !== UpdateVerdict.Valid) updateHandled(this, frame, offset, length, nowMs);
    if (verdict === UpdateVerdict.SessionReset)
      return this.fail(nowMs, 'malformed-update attribute=' + error.attributeType);
    // Treat-as-withdraw also beside a stronger AFI/SAFI disable (of a family never read).
    const malformed = (error.handlings & (1 << (UpdateVerdict.TreatAsWithdraw - 1))) !== 0;
    if (FLEET) {
      const owner = this.options.owner;
      if (owner.updateReceived !== undefined)
        owner.updateReceived(this, frame, offset, length, malformed);
    }
  }

  private receivedOpen(offset: number, length: number, nowMs: number): void {
    if (this.state !== SessionState.OpenSent) {
      const subcode = this.state === SessionState.OpenConfirm ? 2 : 3;
      return this.fail(nowMs, 'unexpected-open', ErrorCode.FiniteStateMachine, subcode);
    }
    if (!parseOpen(this.frame, offset, length, this, this.error))
      return this.fail(nowMs, 'bad-open');
    const peer = this.options.peer;
    const peerAs = this.peerAs;
    if (peerAs !== peer.remoteAs) {
      this.error.set(ErrorCode.Open, OpenSubcode.BadPeerAs, peerAs > 0xffff ? 23456 : peerAs, 2);
      return this.fail(nowMs, 'bad-peer-as ' + peerAs + ' (expected ' + peer.remoteAs + ')');
    }
    this.internal = peerAs === this.options.localAs;
    this.families &= this.options.families;
    if (this.families === 0) {
      return this.fail(
        nowMs,
        'no-common-family',
        ErrorCode.Open,
        OpenSubcode.UnsupportedCapability,
      );
    }
    if (FLEET) this.addPath = this.addPathSend & this.families & (this.options.addPathReceive ?? 0);
    this.holdTimeS = Math.min(peer.holdTimeS, this.holdTimeS);
    this.send(this.transmit, encodeKeepalive(this.transmit, 0));
    this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
    this.keepaliveAtMs = this.holdTimeS === 0 ? Infinity : nowMs + (this.holdTimeS * 1000) / 3;
    this.enter(SessionState.OpenConfirm, nowMs, 'open');
  }

  /**
   * Clean shutdown: CEASE (administrative shutdown), then close; no reconnect. `restarting`: close
   * without a NOTIFICATION, so that a graceful restart helper keeps our routes (RFC 4724 4.2).
   */
  shutdown(nowMs: number, restarting: boolean): void {
    const open = this.state !== SessionState.Idle && this.state !== SessionState.Connect;
    if (open && !restarting) {
      this.error.set(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown);
      this.send(this.transmit, encodeNotification(this.transmit, 0, this.error));
    }
    this.drop(nowMs, 'shutdown');
    this.retryAtMs = Infinity;
    if (PASSIVE_PEERS) this.stopped = true;
  }
}

/**
 * Counts `session`'s received UPDATE at `frame[offset]` by the approach each of its errors called
 * for, and logs the strongest (throttled) with the whole UPDATE, as RFC 7606 6 asks (its NLRI are
 * in it). A function of its own, not a method: a board counts and logs none of it, and carries
 * none of it.
 */
function updateHandled(
  session: BgpSession,
  frame: Uint8Array,
  offset: number,
  length: number,
  nowMs: number,
): void {
  const error = session.error;
  const verdict = error.verdict();
  if (verdict === UpdateVerdict.SessionReset) session.updateResets++;
  else {
    if ((error.handlings & 1) !== 0) session.attributeDiscard++;
    if ((error.handlings & 2) !== 0) session.treatAsWithdraw++;
    if ((error.handlings & 4) !== 0) session.afiSafiDisable++;
  }
  if (session.held(LogEvent.Update, nowMs)) return;
  let update = '';
  for (let i = offset; i < offset + length; i++)
    update += (frame[i]! < 16 ? '0' : '') + frame[i]!.toString(16);
  const problem = error.problem;
  session.options.hal.log(
    'bgp peer=' +
      session.name +
      ' update handling=' +
      HANDLING_NAMES[verdict] +
      ' attribute=' +
      error.attributeType +
      ' error=' +
      (problem === 0 ? 'unexpected-attribute' : describeError(ErrorCode.Update, problem)) +
      ' update=' +
      update,
  );
}

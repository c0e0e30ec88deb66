// One BGP session (RFC 4271 8), for an originate-only speaker: Idle -> Connect -> OpenSent ->
// OpenConfirm -> Established, and back to Idle on any error, with a reconnect after an exponential
// backoff with jitter (or, for a passive peer, the peer's next connection). Timers are deadlines
// checked on `tick` (the firmware's single wake-up); received bytes are framed in place in a fixed
// buffer; every transition goes through `enter`, which asserts it is one the FSM has, with a reason
// for the log. The speaker owns the routes and what we offer: the session only carries them.

import { assert } from '../assert';
import type { BgpPeerConfig } from '../config';
import type { BfdClient } from '../bfd/bfd';
import { BFD, DETAILED_LOG, EXTENDED_OPEN, FLEET, GRACEFUL_RESTART, STATISTICS } from '../features';
import type { Hal, StreamSocket } from '../hal';
import {
  BgpError,
  CeaseSubcode,
  checkHeader,
  checkUpdate,
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
  type OpenOptions,
  OpenSubcode,
  parseOpen,
  UpdateVerdict,
} from './codec';
import type { GracefulRestart } from './graceful';
import { LogEvent, type PeerLog } from './peer-log';
import { SessionStatistics } from './statistics';
import { typed } from '../slab';

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

/** What the session needs from the speaker that owns it. */
export interface SessionOwner {
  /** The session reached Established: send the current state of every prefix. */
  established(session: BgpSession): void;
  /** The peer asked for our routes of `family` (FAMILY_IPV4 or FAMILY_IPV6) again (RFC 2918). */
  refreshRequested(session: BgpSession, family: number): void;
  /**
   * A checked UPDATE at `bytes[offset]` (the frame: read it now, keep nothing); `treatAsWithdraw`:
   * its attributes are malformed (RFC 7606). For the fleet table (FLEET).
   */
  updateReceived(
    session: BgpSession,
    bytes: Uint8Array,
    offset: number,
    length: number,
    treatAsWithdraw: boolean,
  ): void;
  /** The session left Established: what the peer said no longer holds (FLEET). */
  sessionDown(session: BgpSession): void;
  /**
   * What the sessions share, the owner's (each null, or 0, where its feature is not built or not
   * configured): ADD-PATH's families we ask peers for several paths of (RFC 7911), graceful
   * restart (RFC 4724), the throttled log of what peers do.
   */
  readonly addPathReceive: number;
  readonly restart: GracefulRestart | null;
  readonly log: PeerLog | null;
  /**
   * BFD's seam (BFD, with a peer's `bfd`): its `held` says, per peer, that the session neither
   * connects nor takes a connection (RFC 5882 4.1).
   */
  readonly bfdClient: BfdClient | undefined;
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

/** A peer's name in the log: its address, and its port unless 179 (`[2001:db8::1]:1179`). */
export function peerName(peer: BgpPeerConfig): string {
  const text = peer.address.text;
  if (peer.port === 179) return text;
  return (peer.address.family === 6 ? '[' + text + ']' : text) + ':' + peer.port;
}

/** Whether the FSM goes from `previous` to `next`: one step on, or back to Idle. */
function allowed(previous: SessionState, next: SessionState): boolean {
  return next === SessionState.Idle ? previous !== SessionState.Idle : next === previous + 1;
}

export class BgpSession {
  state: SessionState;
  readonly name: string;
  /**
   * Negotiated when the peer's OPEN is taken: the families in common, the hold time, 4-octet AS
   * numbers (RFC 6793), the families the peer sends path identifiers for (ADD-PATH, RFC 7911), the
   * peer's AS, and whether the session is internal (the peer's AS is ours: what UPDATEs may carry,
   * RFC 7606 7.5).
   */
  families: number;
  holdTimeS: number;
  as4: boolean;
  addPath: number;
  peerAs: number;
  internal: boolean;
  /**
   * The peer's last OPEN, as `parseOpen` decoded it. Its `extended` (RFC 9072's format) makes ours
   * to it extended too from then on: RFC 9072 wants the usual format below 255 octets of
   * parameters, but FRR (8.4 to 10.x at least) with `extended-optional-parameters` misreads a usual
   * OPEN (FRRouting/frr#22307), and a peer that spoke it reads it. A 2/0 before the peer's OPEN
   * turns it over (`receivedNotification`).
   */
  readonly peerOpen: OpenInfo;
  /** The figures for `status` and the metrics (STATISTICS), else null. */
  readonly statistics: SessionStatistics | null;
  /** The last problem found in a received message (for the NOTIFICATION, the counts, the log). */
  readonly error: BgpError;
  private readonly stream: StreamSocket;
  private readonly transmit: Uint8Array;
  private readonly frame: Uint8Array;
  private frameLength: number;
  /** Bytes still to drop of an UPDATE larger than the frame. */
  private skipBytes: number;
  private readonly random: Uint8Array;
  private retryAtMs: number;
  private deadlineMs: number;
  private keepaliveAtMs: number;
  private backoffMs: number;
  /** When a write was first refused and the peer has not read since (RFC 9687), or Infinity. */
  private sendBlockedAtMs: number;
  /** `shutdown` was called: no reconnect, no incoming connection taken. */
  private stopped: boolean;
  /** The next deadline of the session's timers, as the last `tick` left it. */
  dueMs: number;

  constructor(readonly options: SessionOptions) {
    // Each whole message is handled as soon as it is in.
    assert(options.frameBytes >= 256, 'a frame holds an OPEN with every capability');
    assert(options.frameBytes <= MESSAGE_BYTES_MAX, 'a frame no larger than a message');
    this.state = SessionState.Idle;
    this.name = peerName(options.peer);
    this.families = 0;
    this.holdTimeS = 0;
    this.as4 = false;
    this.addPath = 0;
    this.peerAs = 0;
    this.internal = false;
    this.peerOpen = new OpenInfo();
    this.statistics = STATISTICS ? new SessionStatistics() : null;
    this.error = new BgpError();
    // An OPEN with ADD-PATH is longer: without `fleet` a board's buffer is half the size.
    const transmitBytes = FLEET ? Limit.TransmitBytes : Limit.TransmitBytesWithoutAddPath;
    this.transmit = typed(Uint8Array, 1, transmitBytes);
    this.frame = new Uint8Array(options.frameBytes);
    this.frameLength = 0;
    this.skipBytes = 0;
    this.random = typed(Uint8Array, 1, 1);
    // A passive peer connects to us: we never connect out (RFC 4271 8.1.1, passive TCP).
    this.retryAtMs = options.peer.passive ? Infinity : 0;
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.backoffMs = Limit.BackoffMinMs;
    this.sendBlockedAtMs = Infinity;
    this.stopped = false;
    this.dueMs = 0;
    this.stream = this.openStream();
  }

  private openStream(): StreamSocket {
    const options = this.options;
    const peer = options.peer;
    return options.hal.openStream({
      streamId: options.index,
      family: peer.address.family,
      address: peer.address.text,
      port: peer.port,
      localAddress: peer.localAddress === null ? null : peer.localAddress.text,
      receive: options.receive,
      writeBytesMax: Limit.WriteBytesMax,
      readBytesPerSecondMax: Limit.ReadBytesPerSecondMax,
      passwordFile: peer.passwordFile,
    });
  }

  /** Every change of state: the FSM's own steps only, each logged with its reason. */
  private enter(next: SessionState, nowMs: number, reason: string): void {
    const previous = this.state;
    assert(allowed(previous, next), 'a transition the FSM has');
    this.state = next;
    if (next === SessionState.Established) {
      this.backoffMs = Limit.BackoffMinMs;
      if (STATISTICS) this.statistics!.established(nowMs);
    }
    if (STATISTICS && next === SessionState.Idle) this.statistics!.lastError = reason;
    // A connection that ends before Established (refused, closed, replaced: a peer can make those
    // without bound) is throttled; the rest are the session's own events.
    if (DETAILED_LOG && next === SessionState.Idle && previous !== SessionState.Established)
      if (this.options.owner.log!.held(this.options.index, LogEvent.Connect, nowMs)) return;
    if (next !== SessionState.Established && previous !== SessionState.Established)
      if (next !== SessionState.Idle) return;
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

  /** Runs the timers; returns the next deadline. */
  /**
   * Runs the timers; `dueMs` is then the next deadline. Not a return value: V8 boxes a double
   * (Infinity, a BFD wake-up between whole milliseconds) returned by a call it does not inline,
   * and the speaker ticks every session at every wake-up.
   */
  tick(nowMs: number): void {
    if (this.state === SessionState.Idle) {
      this.dueMs = this.idleTick(nowMs);
      return;
    }
    // RFC 9687: the send hold timer runs from the first refused write until the peer reads again.
    const sendHoldMs = Math.max(Limit.SendHoldMsMin, 2000 * this.holdTimeS);
    if (nowMs >= this.deadlineMs) {
      if (this.state === SessionState.Connect) this.drop(nowMs, 'connect-timeout');
      else this.fail(nowMs, 'hold-timer-expired', ErrorCode.HoldTimerExpired);
    } else if (nowMs >= this.sendBlockedAtMs + sendHoldMs) {
      // The peer has taken nothing for the send hold time while we had bytes for it.
      this.fail(nowMs, 'send-hold-timer-expired', ErrorCode.SendHoldTimerExpired);
    } else if (nowMs >= this.keepaliveAtMs) {
      this.send(this.transmit, encodeKeepalive(this.transmit, 0));
      this.keepaliveAtMs = nowMs + (this.holdTimeS * 1000) / 3;
    }
    // A cast: drop and fail change the state under calls TypeScript cannot see into.
    if ((this.state as SessionState) === SessionState.Idle) this.dueMs = this.retryAtMs;
    else
      this.dueMs = Math.min(this.deadlineMs, this.keepaliveAtMs, this.sendBlockedAtMs + sendHoldMs);
  }

  /** `tick` in Idle: connects out when the retry is due; returns the next deadline. */
  private idleTick(nowMs: number): number {
    // Held by BFD: no deadline of our own; BFD's packets wake the loop when it is Up again.
    if (this.bfdHeld()) return Infinity;
    if (nowMs < this.retryAtMs) return this.retryAtMs;
    this.enter(SessionState.Connect, nowMs, 'retry');
    this.restartConnection(nowMs);
    this.skipBytes = 0;
    this.stream.connect();
    assert(this.sendBlockedAtMs === Infinity, 'nothing blocked on a new connection');
    return this.deadlineMs;
  }

  /** A new connection is on its way (Connect): an empty frame, the connect timer running. */
  private restartConnection(nowMs: number): void {
    assert(this.state === SessionState.Connect, 'a connection starts in Connect');
    this.frameLength = 0;
    this.deadlineMs = nowMs + Limit.ConnectTimeoutMs;
    this.keepaliveAtMs = Infinity;
  }

  /**
   * A connection from the peer arrived on our listener (a passive peer). Connection collision
   * (RFC 4271 6.8): an Established session keeps its connection and the new one is refused; a
   * session still in its handshake gives way to the new connection (the peer has given up on the
   * old one). Returns whether the session takes it; `connected` follows when it does.
   */
  incoming(nowMs: number): boolean {
    if (!this.options.peer.passive || this.stopped || this.bfdHeld()) return false;
    if (this.state === SessionState.Established) {
      if (STATISTICS) this.statistics!.connectionsRefused++;
      const held =
        DETAILED_LOG && this.options.owner.log!.held(this.options.index, LogEvent.Refused, nowMs);
      if (!held)
        this.options.hal.log('bgp peer=' + this.name + ' refused=second-connection (RFC 4271 6.8)');
      return false;
    }
    if (this.state !== SessionState.Idle) this.drop(nowMs, 'replaced-by-new-connection');
    this.enter(SessionState.Connect, nowMs, 'incoming');
    this.restartConnection(nowMs);
    return true;
  }

  /** Whether BFD holds the session back (SessionOwner.bfdClient). */
  private bfdHeld(): boolean {
    if (!BFD) return false;
    const client = this.options.owner.bfdClient;
    return client !== undefined && client.held[this.options.index] === 1;
  }

  /**
   * BFD declared the path down (RFC 5882 4.2.1: "emulate a control protocol timeout"): the
   * session ends as at a hold timer expiry, with `reason`.
   */
  lost(nowMs: number, reason: string): void {
    if (this.state === SessionState.Idle) return;
    if (this.state === SessionState.Connect) return this.drop(nowMs, reason);
    this.fail(nowMs, reason, ErrorCode.HoldTimerExpired);
  }

  /** Closes the connection and schedules a reconnect after the backoff, with ±25% jitter. */
  private drop(nowMs: number, reason: string): void {
    if (this.state === SessionState.Idle) return;
    const established = this.state === SessionState.Established;
    this.stream.close();
    this.options.hal.fillRandom(this.random);
    const jitter = 0.75 + (this.random[0]! / 255) * 0.5;
    assert(jitter >= 0.75 && jitter <= 1.25, 'a jitter of 25% at most');
    this.retryAtMs = this.options.peer.passive ? Infinity : nowMs + this.backoffMs * jitter;
    this.backoffMs = Math.min(this.backoffMs * 2, Limit.BackoffMaxMs);
    this.deadlineMs = Infinity;
    this.keepaliveAtMs = Infinity;
    this.sendBlockedAtMs = Infinity;
    if (FLEET && established) this.options.owner.sessionDown(this);
    this.enter(SessionState.Idle, nowMs, reason);
  }

  /**
   * Sends the NOTIFICATION for `code` and `subcode` (0 when absent), or without a code for `error`
   * as set, and drops the session.
   */
  private fail(nowMs: number, reason: string, code?: number, subcode?: number): void {
    if (code !== undefined) this.error.set(code, subcode ?? 0);
    assert(this.error.code !== 0, 'a NOTIFICATION has an error code');
    this.send(this.transmit, encodeNotification(this.transmit, 0, this.error));
    this.drop(
      nowMs,
      reason + ' (sent notification ' + this.error.code + '/' + this.error.subcode + ')',
    );
  }

  /** Writes; a refused write starts the send hold timer, which runs until `writable`. */
  private send(message: Uint8Array, length: number): boolean {
    assert(length >= HEADER_BYTES && length <= message.length, 'a whole message to send');
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
    assert(message[18] === MessageType.Update, 'the speaker sends UPDATEs');
    if (!this.send(message, message.length)) return false;
    if (STATISTICS) this.statistics!.updatesSent++;
    return true;
  }

  /** The peer has read again: writes are accepted (the send hold timer stops). */
  writable(): void {
    this.sendBlockedAtMs = Infinity;
  }

  /** The TCP connection is up: our OPEN goes (OpenSent). */
  connected(nowMs: number): void {
    if (this.state !== SessionState.Connect) return;
    this.send(this.transmit, encodeOpen(this.transmit, 0, this.offer()));
    this.deadlineMs = nowMs + Limit.OpenHoldMs;
    this.enter(SessionState.OpenSent, nowMs, 'connected');
  }

  /**
   * What our OPEN offers this peer. Rare: allocates (once per connection). The optional keys are
   * set only where their feature is built: a board's handshake, its tightest moment, makes no
   * room for keys it would never read.
   */
  private offer(): OpenOptions {
    const options = this.options;
    const offer: OpenOptions = {
      localAs: options.localAs,
      holdTimeS: options.peer.holdTimeS,
      routerId: options.routerId,
      families: options.families,
    };
    const restart = options.owner.restart;
    if (GRACEFUL_RESTART && restart !== null) {
      offer.restartTimeS = restart.timeS;
      offer.restarted = restart.restarted[options.index] === 1;
    }
    if (FLEET) offer.addPathReceive = options.owner.addPathReceive;
    if (EXTENDED_OPEN) offer.extended = this.peerOpen.extended;
    return offer;
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
    assert(length > 0 && length <= receive.length, 'bytes in the receive buffer');
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
      const offset = this.handleFramed(nowMs);
      if ((this.state as SessionState) === SessionState.Idle) return;
      // The unread tail moves to the front (a loop: Espruino's typed arrays have no copyWithin).
      const remaining = this.frameLength - offset;
      assert(remaining >= 0, 'no more handled than framed');
      for (let i = 0; i < remaining; i++) frame[i] = frame[offset + i]!;
      this.frameLength = remaining;
    }
  }

  /**
   * Handles every whole message in the frame; returns where the unread tail starts. Bounded:
   * every pass consumes at least one whole message of 19 bytes or more, or stops.
   */
  private handleFramed(nowMs: number): number {
    const frame = this.frame;
    let offset = 0;
    while ((this.state as SessionState) !== SessionState.Idle) {
      const messageLength = checkHeader(frame, offset, this.frameLength - offset, this.error);
      if (messageLength < 0) {
        this.fail(nowMs, 'bad-header');
        break;
      }
      if (messageLength === 0) {
        if (this.frameLength - offset >= HEADER_BYTES) this.oversized(offset, nowMs);
        break;
      }
      assert(offset + messageLength <= this.frameLength, 'a whole message in the frame');
      this.handle(offset, messageLength, nowMs);
      offset += messageLength;
    }
    return offset;
  }

  /**
   * A valid header at `offset` of a message perhaps larger than the frame. An UPDATE is dropped
   * as it arrives (counted); any other such message ends the session (CEASE, out of resources:
   * RFC 4486), which on a board only an OPEN or NOTIFICATION over a KB could do.
   */
  private oversized(offset: number, nowMs: number): void {
    const frame = this.frame;
    const size = (frame[offset + 16]! << 8) | frame[offset + 17]!;
    if (size <= frame.length) return; // whole in the frame, once the rest is in
    if (frame[offset + 18] !== MessageType.Update || this.state !== SessionState.Established) {
      this.fail(nowMs, 'message-larger-than-frame length=' + size, ErrorCode.Cease, 8);
      return;
    }
    if (STATISTICS) {
      this.statistics!.updatesReceived++;
      this.statistics!.updatesUnchecked++;
    }
    this.deadlineMs = this.holdTimeS === 0 ? Infinity : nowMs + this.holdTimeS * 1000;
    this.skipBytes = size - (this.frameLength - offset);
    this.frameLength = offset;
  }

  /** One whole message at `offset` of the frame, by type (RFC 4271 8.2.2's events). */
  private handle(offset: number, length: number, nowMs: number): void {
    const frame = this.frame;
    const type = frame[offset + 18];
    const body = offset + HEADER_BYTES;
    if (type === MessageType.Notification) return this.receivedNotification(offset, length, nowMs);
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
    this.receivedUpdate(offset, length, nowMs);
  }

  /** The peer ended the session (its NOTIFICATION at `offset`). */
  private receivedNotification(offset: number, length: number, nowMs: number): void {
    const frame = this.frame;
    const body = offset + HEADER_BYTES;
    // The peer ended an established session on purpose: try again soon, then back off as usual
    // (a CEASE before Established, such as a refused connection, backs off from the start).
    const soon = frame[body] === ErrorCode.Cease && this.state === SessionState.Established;
    if (soon) this.backoffMs = Limit.CeaseRetryMs;
    // The peer could not read our OPEN (2/0) and sent no OPEN of its own first, which would have
    // said its format: FRR with extended-optional-parameters refuses the usual one so, and its
    // OPEN may come before its NOTIFICATION or after (on a loaded machine, either). The next OPEN
    // takes the other format; the peer's OPEN, once read, decides again.
    if (
      EXTENDED_OPEN &&
      this.state === SessionState.OpenSent &&
      frame[body] === ErrorCode.Open &&
      frame[body + 1] === 0
    )
      this.peerOpen.extended = !this.peerOpen.extended;
    // Without the detailed log only the numbers (`6/2`): no names, no shutdown communication.
    const text = DETAILED_LOG
      ? describeNotification(frame, offset, length)
      : frame[body] + '/' + frame[body + 1];
    this.drop(nowMs, 'received notification ' + text);
    if (soon) this.backoffMs = Limit.BackoffMinMs;
  }

  /** A received UPDATE: checked (RFC 7606), its routes to the owner unless it resets the session */
  private receivedUpdate(offset: number, length: number, nowMs: number): void {
    assert(this.state === SessionState.Established, 'UPDATEs only when Established');
    if (STATISTICS) this.statistics!.updatesReceived++;
    const error = this.error;
    const verdict = checkUpdate(this.frame, offset, length, this, error);
    if (verdict !== UpdateVerdict.Valid) {
      if (STATISTICS) this.statistics!.updateErrors(error);
      // The object is made only for a line that is written (a flood is held back, counted).
      const log = this.options.owner.log;
      if (DETAILED_LOG && !log!.held(this.options.index, LogEvent.Update, nowMs))
        log!.update(this.name, { frame: this.frame, offset, length }, error);
    }
    if (verdict === UpdateVerdict.SessionReset)
      return this.fail(nowMs, 'malformed-update attribute=' + error.attributeType);
    // Treat-as-withdraw also beside a stronger AFI/SAFI disable (of a family never read).
    const malformed = (error.handlings & (1 << (UpdateVerdict.TreatAsWithdraw - 1))) !== 0;
    if (FLEET) this.options.owner.updateReceived(this, this.frame, offset, length, malformed);
  }

  /** The peer's OPEN at `offset`: checked, then what the session negotiates with it. */
  private receivedOpen(offset: number, length: number, nowMs: number): void {
    if (this.state !== SessionState.OpenSent) {
      const subcode = this.state === SessionState.OpenConfirm ? 2 : 3;
      return this.fail(nowMs, 'unexpected-open', ErrorCode.FiniteStateMachine, subcode);
    }
    const open = this.peerOpen;
    if (!parseOpen(this.frame, offset, length, open, this.error))
      return this.fail(nowMs, 'bad-open');
    const options = this.options;
    const peer = options.peer;
    if (open.peerAs !== peer.remoteAs) {
      const as = open.peerAs > 0xffff ? 23456 : open.peerAs;
      this.error.set(ErrorCode.Open, OpenSubcode.BadPeerAs, as, 2);
      return this.fail(nowMs, 'bad-peer-as ' + open.peerAs + ' (expected ' + peer.remoteAs + ')');
    }
    const families = open.families & options.families;
    if (families === 0) {
      const subcode = OpenSubcode.UnsupportedCapability;
      return this.fail(nowMs, 'no-common-family', ErrorCode.Open, subcode);
    }
    this.families = families;
    this.peerAs = open.peerAs;
    this.internal = open.peerAs === options.localAs;
    this.as4 = open.as4;
    if (FLEET) this.addPath = open.addPathSend & families & options.owner.addPathReceive;
    this.holdTimeS = Math.min(peer.holdTimeS, open.holdTimeS);
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
    this.stopped = true;
  }
}

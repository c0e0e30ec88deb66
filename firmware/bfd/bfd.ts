// BFD beside the BGP speaker: one session (firmware/bfd/session.ts) per peer with `bfd`
// configured, over the HAL's BFD sockets (RFC 5881 single hop, or RFC 5883 multihop), run on the
// firmware's single wake-up like every other timer. Its one seam to BGP is `BfdClient` (RFC 5882):
// a session going down takes the peer's BGP session down with its diagnostic (4.2.1: as a hold
// timer expiry would), and once BFD has been Up the BGP session waits for it to be Up again (4.1);
// the peer going AdminDown is no failure (4.2), and holds nothing back. Changes to and from Up are
// audit records.

import { assert } from '../assert';
import type { AuditLog } from '../audit';
import type { Config } from '../config';
import type { Hal, UdpSocket } from '../hal';
import { BFD_STATE_NAMES, BfdControl, BfdState, CONTROL_BYTES, DIAGNOSTIC_NAMES } from './codec';
import { BfdSession, Time, type BfdSessionOwner } from './session';

/** The HAL socket ids of BFD sessions: this plus the peer's index (probes use small ids). */
export const BFD_SOCKET_BASE = 0x4000;
/** AdminDown packets sent at a stop (RFC 5882 8; see BfdSession.adminDown). */
const ADMIN_DOWN_COPIES = 3;
/** Random bytes fetched at once for the jitter: one HAL call per this many packets. */
const RANDOM_POOL_BYTES = 64;

/** The BGP speaker's side of BFD (RFC 5882), one small seam. */
export interface BfdClient {
  /**
   * Per peer, 1 while BFD holds the BGP session back: its BFD session was Up once and is down
   * now, so the path is known to be dead (RFC 5882 4.1). The BGP session reads it before it
   * connects or takes a connection.
   */
  readonly held: Uint8Array;
  /** BFD declared the path to peer `index` down: its BGP session goes, with `reason`. */
  down(index: number, reason: string, nowMs: number): void;
}

export class Bfd implements BfdSessionOwner {
  /** Per BGP peer, its BFD session, or null for a peer without `bfd`. */
  readonly sessions: (BfdSession | null)[];
  private readonly sockets: (UdpSocket | null)[];
  private readonly packet: BfdControl;
  /** The soonest deadline of every session after `tick` (a typed array: no heap number). */
  readonly dueMs: Float64Array;
  private readonly pool: Uint8Array;
  private poolUsed: number;

  constructor(
    private readonly config: Config,
    private readonly hal: Hal,
    private readonly audit: AuditLog,
    private readonly client: BfdClient,
  ) {
    this.sessions = [];
    this.sockets = [];
    this.packet = new BfdControl();
    this.dueMs = new Float64Array(1).fill(Infinity);
    this.pool = new Uint8Array(RANDOM_POOL_BYTES);
    this.poolUsed = RANDOM_POOL_BYTES;
  }

  /** Opens every configured peer's socket and starts its session (RFC 5880: the active role). */
  open(): void {
    const peers = this.config.announcer.peers;
    const openBfd = this.hal.openBfd;
    assert(openBfd !== undefined, 'the config check refuses bfd where the HAL has none');
    const discriminators = new Uint32Array(peers.length);
    for (let index = 0; index < peers.length; index++) {
      const peer = peers[index]!;
      const settings = peer.bfd;
      if (settings === null) {
        this.sessions.push(null);
        this.sockets.push(null);
        continue;
      }
      const receive = new Uint8Array(CONTROL_BYTES + 40);
      const socket = openBfd.call(this.hal, {
        socketId: BFD_SOCKET_BASE + index,
        family: peer.address.family,
        address: peer.address.text,
        localAddress: peer.localAddress === null ? null : peer.localAddress.text,
        multihop: settings.multihop,
        receive,
      });
      discriminators[index] = this.discriminator(discriminators);
      const name = peer.address.text;
      this.sockets.push(socket);
      this.sessions.push(
        new BfdSession({
          index,
          name,
          intervalMs: settings.intervalMs,
          multiplier: settings.multiplier,
          localDiscriminator: discriminators[index]!,
          owner: this,
          socket,
          receive,
          packet: this.packet,
        }),
      );
    }
  }

  /** A random discriminator, nonzero and unlike the others (RFC 5880 6.8.1: SHOULD be random). */
  private discriminator(taken: Uint32Array): number {
    const bytes = new Uint8Array(4);
    for (;;) {
      this.hal.fillRandom(bytes);
      const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
      if (value !== 0 && taken.indexOf(value) < 0) return value;
    }
  }

  randomByte(): number {
    if (this.poolUsed === RANDOM_POOL_BYTES) {
      this.hal.fillRandom(this.pool);
      this.poolUsed = 0;
    }
    return this.pool[this.poolUsed++]!;
  }

  /** Runs every session's timers; the soonest deadline is then in `dueMs[0]`. */
  tick(nowMs: number): void {
    const dueMs = this.dueMs;
    dueMs[0] = Infinity;
    for (let i = 0; i < this.sessions.length; i++) {
      const session = this.sessions[i];
      if (session === null || session === undefined) continue;
      session.tick(nowMs);
      const times = session.times;
      if (times[Time.NextTransmitMs]! < dueMs[0]!) dueMs[0] = times[Time.NextTransmitMs]!;
      if (times[Time.DetectAtMs]! < dueMs[0]!) dueMs[0] = times[Time.DetectAtMs]!;
    }
  }

  /** A datagram for socket `socketId`; false when that is not a BFD socket. */
  received(socketId: number, length: number, nowMs: number): boolean {
    const session = this.sessions[socketId - BFD_SOCKET_BASE];
    if (session === null || session === undefined) return false;
    session.received(length, nowMs);
    return true;
  }

  changed(session: BfdSession, previous: BfdState, nowMs: number): void {
    const index = session.options.index;
    const state = session.state;
    const line =
      'peer=' +
      session.options.name +
      ' state=' +
      BFD_STATE_NAMES[state] +
      ' from=' +
      BFD_STATE_NAMES[previous] +
      ' diag=' +
      DIAGNOSTIC_NAMES[session.diagnostic] +
      ' remote=' +
      BFD_STATE_NAMES[session.remoteState];
    // Up and leaving Up are what an operator acts on; Init is on the log only.
    if (state === BfdState.Up || previous === BfdState.Up) this.audit.record('bfd', line);
    else this.hal.log('bfd ' + line);
    // RFC 5882 4.1: "If the session state on either the local or remote system (if known) is
    // AdminDown, ... the establishment of a control protocol adjacency MUST be allowed."
    const adminDown = state === BfdState.AdminDown || session.remoteState === BfdState.AdminDown;
    this.client.held[index] = session.everUp && state !== BfdState.Up && !adminDown ? 1 : 0;
    // RFC 5882 4.2: Up to Down takes the control protocol down, unless the peer went AdminDown
    // (the control protocol has its own liveness: 3.2).
    if (previous === BfdState.Up && state === BfdState.Down && !adminDown)
      this.client.down(index, 'bfd-down diag=' + DIAGNOSTIC_NAMES[session.diagnostic], nowMs);
  }

  /** `up` or `down` per BFD peer, comma-separated (`-` for a peer without it), for `status`. */
  summary(): string {
    const states: string[] = [];
    for (const session of this.sessions)
      states.push(session === null ? '-' : BFD_STATE_NAMES[session.state]!);
    return states.join(',');
  }

  /** Tells every peer AdminDown (RFC 5880 6.8.16, RFC 5882 8) and closes the sockets. */
  shutdown(nowMs: number): void {
    for (let i = 0; i < this.sessions.length; i++) {
      this.sessions[i]?.adminDown(nowMs, ADMIN_DOWN_COPIES);
      this.sockets[i]?.close();
    }
  }
}

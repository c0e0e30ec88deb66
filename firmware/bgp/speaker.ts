// The built-in BGP speaker: an Announcer that originates the services' prefixes to every configured
// peer over its own session. Every UPDATE it can ever send (per peer and prefix: announce and
// drain, each in 4-octet and 2-octet AS form, and withdraw) is encoded at boot; a state change
// copies the prebuilt bytes to the established sessions. Received routes are checked and dropped.

import { RouteState, type Announcer } from '../announcer';
import type { BgpPeerConfig, Config, RouteAttributesConfig } from '../config';
import type { Hal } from '../hal';
import type { Prefix } from '../address';
import {
  encodeAnnounce,
  encodeWithdraw,
  FAMILY_IPV4,
  FAMILY_IPV6,
  MESSAGE_BYTES_MAX,
} from './codec';
import {
  BgpSession,
  RECEIVE_BYTES,
  SESSION_STATE_NAMES,
  SessionState,
  type SessionOwner,
} from './session';

/** The largest UPDATE the speaker builds (one prefix, all its attributes). */
const UPDATE_BYTES_MAX = 512;

/** Prebuilt UPDATEs per prefix: announce (as4, as2), drain (as4, as2), withdraw. */
const VARIANTS = 5;
const VARIANT_WITHDRAW = 4;

/** A copy of the first `length` bytes (not `slice`: on Espruino it returns a plain Array). */
function copyOut(scratch: Uint8Array, length: number): Uint8Array {
  const message = new Uint8Array(length);
  message.set(scratch.subarray(0, length));
  return message;
}

/** One peer's session as `status`, the lab view and the metrics show it. */
export interface PeerStatus {
  readonly peer: string;
  readonly state: string;
  /** Time in Established, 0 when not. */
  readonly uptimeMs: number;
  readonly lastError: string;
  readonly updatesSent: number;
  readonly updatesReceived: number;
  readonly treatAsWithdraw: number;
  readonly establishedCount: number;
}

export class BgpSpeaker implements Announcer, SessionOwner {
  readonly sessions: BgpSession[];
  private readonly state: Uint8Array;
  private readonly decided: Uint8Array;
  /** For each service, the index of its first prefix in the flat prefix list, and the count. */
  private readonly prefixStart: Uint16Array;
  private readonly prefixCount: Uint16Array;
  private readonly prefixFamily: Uint8Array;
  /** Per peer: `VARIANTS` messages per prefix. */
  private readonly updates: Uint8Array[][];
  private readonly receive: Uint8Array;
  private readonly frameBytes: number;

  constructor(
    private readonly config: Config,
    private readonly hal: Hal,
    /** Each session's frame: BGP's 4,096 bytes, or less on a board (see SessionOptions). */
    frameBytes?: number,
  ) {
    this.frameBytes = frameBytes ?? MESSAGE_BYTES_MAX;
    const services = config.services;
    this.state = new Uint8Array(services.length);
    this.decided = new Uint8Array(services.length);
    this.prefixStart = new Uint16Array(services.length);
    this.prefixCount = new Uint16Array(services.length);
    const prefixes: Prefix[] = [];
    const attributes: RouteAttributesConfig[] = [];
    const drains: (RouteAttributesConfig | null)[] = [];
    for (let s = 0; s < services.length; s++) {
      this.prefixStart[s] = prefixes.length;
      this.prefixCount[s] = services[s]!.prefixes.length;
      for (const prefix of services[s]!.prefixes) {
        prefixes.push(prefix);
        attributes.push(services[s]!.announce);
        drains.push(services[s]!.drain);
      }
    }
    this.prefixFamily = new Uint8Array(prefixes.map((prefix) => prefix.family));
    this.updates = config.announcer.peers.map((peer) =>
      this.buildUpdates(peer, prefixes, attributes, drains),
    );
    this.receive = new Uint8Array(RECEIVE_BYTES);
    this.sessions = [];
  }

  private buildUpdates(
    peer: BgpPeerConfig,
    prefixes: readonly Prefix[],
    attributes: readonly RouteAttributesConfig[],
    drains: readonly (RouteAttributesConfig | null)[],
  ): Uint8Array[] {
    // An announcement of one prefix with the most attributes (32 communities, IPv6) is under
    // 256 bytes.
    const scratch = new Uint8Array(UPDATE_BYTES_MAX);
    const localAs = this.config.announcer.localAs;
    const updates: Uint8Array[] = [];
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i]!;
      const local =
        peer.localAddress !== null && peer.localAddress.family === prefix.family
          ? peer.localAddress
          : null;
      const nextHop = (prefix.family === 4 ? peer.nextHopV4 : peer.nextHopV6) ?? local;
      if (nextHop === null)
        throw new Error(
          'config: peer ' + peer.address.text + ' has no next hop for ' + prefix.text,
        );
      for (const drain of [false, true]) {
        const chosen = drain ? (drains[i] ?? attributes[i]!) : attributes[i]!;
        for (const as4 of [true, false]) {
          const route = {
            localAs,
            as4,
            nextHop,
            med: chosen.med,
            communities: chosen.communityValues,
          };
          updates.push(copyOut(scratch, encodeAnnounce(scratch, 0, prefix, route)));
        }
      }
      updates.push(copyOut(scratch, encodeWithdraw(scratch, 0, prefix)));
    }
    return updates;
  }

  start(): void {
    const announcer = this.config.announcer;
    const routerId = announcer.routerId === null ? new Uint8Array(4) : announcer.routerId.bytes;
    let families = 0;
    for (let i = 0; i < this.prefixFamily.length; i++)
      families |= this.prefixFamily[i] === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
    for (let index = 0; index < announcer.peers.length; index++) {
      this.sessions.push(
        new BgpSession({
          index,
          peer: announcer.peers[index]!,
          localAs: announcer.localAs,
          routerId,
          families,
          hal: this.hal,
          owner: this,
          receive: this.receive,
          frameBytes: this.frameBytes,
        }),
      );
    }
  }

  /**
   * Sends service `s`'s prefixes in its current state; `initial`: the peer has none of them yet.
   */
  private sendService(session: BgpSession, s: number, initial: boolean): void {
    const state = this.state[s]!;
    if (initial && state === RouteState.Withdrawn) return;
    const updates = this.updates[session.options.index]!;
    for (let i = this.prefixStart[s]!; i < this.prefixStart[s]! + this.prefixCount[s]!; i++) {
      const family = this.prefixFamily[i] === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
      if ((session.families & family) === 0) continue;
      const variant =
        state === RouteState.Withdrawn
          ? VARIANT_WITHDRAW
          : (state === RouteState.Drained ? 2 : 0) + (session.as4 ? 0 : 1);
      session.write(updates[i * VARIANTS + variant]!);
    }
  }

  serviceStateChanged(service: number, state: RouteState): void {
    this.state[service] = state;
    this.decided[service] = 1;
    for (const session of this.sessions) {
      if (session.state === SessionState.Established) this.sendService(session, service, false);
    }
  }

  established(session: BgpSession): void {
    for (let s = 0; s < this.state.length; s++)
      if (this.decided[s] === 1) this.sendService(session, s, true);
  }

  refreshRequested(session: BgpSession): void {
    this.established(session);
  }

  tick(nowMs: number): number {
    let next = Infinity;
    for (let i = 0; i < this.sessions.length; i++)
      next = Math.min(next, this.sessions[i]!.tick(nowMs));
    return next;
  }

  streamConnected(streamId: number): void {
    this.sessions[streamId]?.connected(this.hal.clock.nowMs());
  }

  streamReceived(streamId: number, length: number): void {
    this.sessions[streamId]?.received(length, this.hal.clock.nowMs());
  }

  streamClosed(streamId: number): void {
    this.sessions[streamId]?.closed(this.hal.clock.nowMs());
  }

  /** Every peer's session now. Allocates: for the console and metrics, not the loop. */
  status(nowMs: number): PeerStatus[] {
    return this.sessions.map((session) => ({
      peer: session.name,
      state: SESSION_STATE_NAMES[session.state]!,
      uptimeMs: session.state === SessionState.Established ? nowMs - session.establishedAtMs : 0,
      lastError: session.lastError,
      updatesSent: session.updatesSent,
      updatesReceived: session.updatesReceived,
      treatAsWithdraw: session.treatAsWithdraw,
      establishedCount: session.establishedCount,
    }));
  }

  shutdown(withdraw: boolean): void {
    const nowMs = this.hal.clock.nowMs();
    for (const session of this.sessions) {
      if (withdraw && session.state === SessionState.Established) {
        for (let s = 0; s < this.state.length; s++) {
          this.state[s] = RouteState.Withdrawn;
          this.sendService(session, s, false);
        }
      }
      session.shutdown(nowMs);
    }
  }
}

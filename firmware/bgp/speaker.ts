// The built-in BGP speaker: an Announcer that originates the services' prefixes to every configured
// peer over its own session. Every UPDATE it can ever send (per peer and prefix: announce and
// drain, each in 4-octet and 2-octet AS form, and withdraw) is encoded at boot; a state change
// marks the service's prefixes pending on the established sessions, and each session drains its
// pending prefixes (in their current state) as far as its stream's write bound allows, the rest
// when the HAL says the stream is writable again. A ROUTE-REFRESH only marks, too: a peer that asks
// again and again and never reads costs a bit per prefix, not a copy per request (issue 11).
// Received routes are checked and dropped.

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
import { BgpSession, SESSION_STATE_NAMES, SessionState, type SessionOwner } from './session';

/** Prebuilt UPDATEs per prefix: announce (as4, as2), drain (as4, as2), withdraw. */
const VARIANTS = 5;
const VARIANT_WITHDRAW = 4;

function copyOut(scratch: Uint8Array, length: number): Uint8Array {
  // Not scratch.slice: on Espruino a typed array's slice returns a plain Array.
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
  /** Per peer, per prefix: 1 while the prefix's current state is still to be sent to the peer. */
  private readonly pending: Uint8Array[];
  private readonly receive: Uint8Array;

  constructor(
    private readonly config: Config,
    private readonly hal: Hal,
  ) {
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
    this.pending = config.announcer.peers.map(() => new Uint8Array(prefixes.length));
    this.receive = new Uint8Array(MESSAGE_BYTES_MAX);
    this.sessions = [];
  }

  private buildUpdates(
    peer: BgpPeerConfig,
    prefixes: readonly Prefix[],
    attributes: readonly RouteAttributesConfig[],
    drains: readonly (RouteAttributesConfig | null)[],
  ): Uint8Array[] {
    const scratch = new Uint8Array(MESSAGE_BYTES_MAX);
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
        }),
      );
    }
  }

  /**
   * Marks service `s`'s prefixes (of `families`) pending for `session`; `initial`: the peer has
   * none of them yet, so a withdrawn or undecided service has nothing to send.
   */
  private mark(session: BgpSession, s: number, families: number, initial: boolean): void {
    if (initial && (this.decided[s] === 0 || this.state[s] === RouteState.Withdrawn)) return;
    const pending = this.pending[session.options.index]!;
    for (let i = this.prefixStart[s]!; i < this.prefixStart[s]! + this.prefixCount[s]!; i++) {
      const family = this.prefixFamily[i] === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
      if ((families & family) !== 0) pending[i] = 1;
    }
  }

  /**
   * Sends `session`'s pending prefixes in their current state, in prefix order, until the stream
   * refuses one (it stays pending for `streamWritable`). Bounded by the prefix count.
   */
  private drain(session: BgpSession): void {
    const pending = this.pending[session.options.index]!;
    const updates = this.updates[session.options.index]!;
    for (let s = 0; s < this.state.length; s++) {
      const state = this.state[s]!;
      const variant =
        state === RouteState.Withdrawn
          ? VARIANT_WITHDRAW
          : (state === RouteState.Drained ? 2 : 0) + (session.as4 ? 0 : 1);
      for (let i = this.prefixStart[s]!; i < this.prefixStart[s]! + this.prefixCount[s]!; i++) {
        if (pending[i] === 0) continue;
        if (!session.write(updates[i * VARIANTS + variant]!)) return;
        pending[i] = 0;
      }
    }
  }

  serviceStateChanged(service: number, state: RouteState): void {
    this.state[service] = state;
    this.decided[service] = 1;
    for (const session of this.sessions) {
      if (session.state !== SessionState.Established) continue;
      this.mark(session, service, session.families, false);
      this.drain(session);
    }
  }

  established(session: BgpSession): void {
    this.pending[session.options.index]!.fill(0);
    for (let s = 0; s < this.state.length; s++) this.mark(session, s, session.families, true);
    this.drain(session);
  }

  refreshRequested(session: BgpSession, family: number): void {
    for (let s = 0; s < this.state.length; s++) this.mark(session, s, family, true);
    this.drain(session);
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

  streamWritable(streamId: number): void {
    const session = this.sessions[streamId];
    if (session === undefined) return;
    session.writable();
    if (session.state === SessionState.Established) this.drain(session);
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
    if (withdraw) this.state.fill(RouteState.Withdrawn);
    for (const session of this.sessions) {
      if (withdraw && session.state === SessionState.Established) {
        for (let s = 0; s < this.state.length; s++) this.mark(session, s, session.families, false);
        this.drain(session);
      }
      session.shutdown(nowMs);
    }
  }
}

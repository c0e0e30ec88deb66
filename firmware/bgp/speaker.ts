// The built-in BGP speaker: an Announcer that originates the services' prefixes to every configured
// peer over its own session. Every UPDATE it can ever send (per peer and prefix: announce and
// drain, each in 4-octet and 2-octet AS form, and withdraw) is encoded at boot; a state change
// marks the service's prefixes pending on the established sessions, and each session drains its
// pending prefixes (in their current state) as far as its stream's write bound allows, the rest
// when the HAL says the stream is writable again. A ROUTE-REFRESH only marks, too: a peer that asks
// again and again and never reads costs a bit per prefix, not a copy per request (issue 11).
// Received routes are checked and dropped. A planned withdrawal (automatic, console, pin, stop)
// first announces the routes with GRACEFUL_SHUTDOWN (RFC 8326) for `gracefulShutdownMs`, so that
// routers move the traffic before the routes go; an urgent one (the local service failed) does not.

import { routeAttributes, RouteState, type Announcer } from '../announcer';
import { assert } from '../assert';
import type { BfdClient } from '../bfd/bfd';
import { FleetTable } from '../fleet';
import type { BgpPeerConfig, Config, RouteAttributesConfig } from '../config';
import type { Hal } from '../hal';
import type { Address, Prefix } from '../address';
import { encodeAnnounce, encodeWithdraw, Family, MESSAGE_BYTES_MAX, readRoutes } from './codec';
import { GracefulRestart, GracefulShutdown } from './graceful';
import { PassiveListeners } from './passive';
import { PeerLog } from './peer-log';
import {
  BgpSession,
  Limit,
  peerName,
  SESSION_STATE_NAMES,
  SessionState,
  type SessionOwner,
} from './session';
import { typed } from '../slab';
import {
  BFD,
  DETAILED_LOG,
  FLEET,
  GRACEFUL_RESTART,
  GRACEFUL_SHUTDOWN,
  PASSIVE_PEERS,
  STATISTICS,
} from '../features';

/**
 * The speaker's numbers. A const enum: esbuild writes each where it is used, and a board keeps no
 * variable for it (a top-level constant of a module would be one).
 */
const enum Build {
  /** The largest UPDATE the speaker builds (one prefix, all its attributes). */
  UpdateBytesMax = 512,
  /** The variant (see VARIANTS) that withdraws, and the first with GRACEFUL_SHUTDOWN. */
  VariantWithdraw = 6,
  VariantGracefulShutdown = 7,
  /** RFC 8326: the well-known GRACEFUL_SHUTDOWN community, 65535:0. */
  GracefulShutdown = 0xffff0000,
  /**
   * The route states that announce: Announced, Drained, LastResort (RouteState 1 to 3), in
   * variant order (two variants each: as4, as2).
   */
  Announcing = 3,
}

/**
 * Prebuilt UPDATEs per prefix: announce (as4, as2), drain (as4, as2), last resort (as4, as2; empty
 * without `fleet`), withdraw, and the first six again with GRACEFUL_SHUTDOWN added (empty when
 * graceful shutdown is off; not even there on a board without it).
 */
export const VARIANTS = GRACEFUL_SHUTDOWN ? 13 : 7;
const NONE = new Uint8Array(0);

/**
 * A copy of the first `length` bytes (not `slice`: on Espruino it returns a plain Array), or one of
 * the last `VARIANTS` of `earlier` (this prefix's) with the same bytes: a drain without attributes
 * of its own is the announcement, and needs no copy of its own.
 */
function copyOut(scratch: Uint8Array, length: number, earlier: readonly Uint8Array[]): Uint8Array {
  for (let j = earlier.length - 1; j >= 0 && j >= earlier.length - VARIANTS; j--) {
    const message = earlier[j]!;
    let same = message.length === length;
    for (let i = 0; same && i < length; i++) same = message[i] === scratch[i];
    if (same) return message;
  }
  const message = typed(Uint8Array, 1, length); // carved on a board: they live as long as it runs
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
  /** UPDATEs whose errors called for each RFC 7606 approach (BgpSession's counts). */
  readonly attributeDiscard: number;
  readonly treatAsWithdraw: number;
  readonly afiSafiDisable: number;
  readonly updateResets: number;
  /** Connections from the peer refused while its session was Established (RFC 4271 6.8). */
  readonly connectionsRefused: number;
  readonly establishedCount: number;
}

/** Every peer's session now. Allocates: for the metrics and the lab, not the loop. */
function peerStatus(sessions: readonly BgpSession[], nowMs: number): PeerStatus[] {
  return sessions.map((session) => {
    const figures = session.statistics!;
    const up = session.state === SessionState.Established;
    return {
      peer: session.name,
      state: SESSION_STATE_NAMES[session.state]!,
      uptimeMs: up ? nowMs - figures.establishedAtMs : 0,
      lastError: figures.lastError,
      updatesSent: figures.updatesSent,
      updatesReceived: figures.updatesReceived,
      attributeDiscard: figures.attributeDiscard,
      treatAsWithdraw: figures.treatAsWithdraw,
      afiSafiDisable: figures.afiSafiDisable,
      updateResets: figures.updateResets,
      connectionsRefused: figures.connectionsRefused,
      establishedCount: figures.establishedCount,
    };
  });
}

/**
 * BFD's seam into the speaker (firmware/bfd/bfd.ts, RFC 5882): the hold its sessions read, and the
 * way BFD ends one.
 */
class SpeakerBfd implements BfdClient {
  readonly held: Uint8Array;

  constructor(private readonly sessions: readonly BgpSession[]) {
    this.held = new Uint8Array(sessions.length);
  }

  down(index: number, reason: string, nowMs: number): void {
    assert(index >= 0 && index < this.sessions.length, 'a configured peer');
    this.sessions[index]!.lost(nowMs, reason);
  }
}

export class BgpSpeaker implements Announcer, SessionOwner {
  readonly sessions: BgpSession[];
  /** The other sites' routes, with `fleet` configured (FLEET), else null. */
  readonly fleet: FleetTable | null;
  /** ADD-PATH (RFC 7911): the families we ask peers for several paths of (the fleet table's). */
  addPathReceive: number;
  /** Graceful restart (RFC 4724), with `restartTimeS` (GRACEFUL_RESTART), else null. */
  restart: GracefulRestart | null;
  /** Graceful shutdown (RFC 8326), with `gracefulShutdownMs` (GRACEFUL_SHUTDOWN), else null. */
  gracefulShutdown: GracefulShutdown | null;
  /** The log of what peers do, throttled (DETAILED_LOG), else null: the metrics read its count. */
  log: PeerLog | null;
  /** BFD's seam (BFD, with a peer's `bfd`), made by `start`, else undefined. */
  bfdClient: BfdClient | undefined;
  /** The listeners of the passive peers (PASSIVE_PEERS), opened by `start`, else null. */
  private passive: PassiveListeners | null;
  // The tables below are sized by the config: a reload (appliance/reload-announcers.ts, Node
  // only) puts those of a new config in their place, keeping the sessions of unchanged peers.
  state: Uint8Array;
  decided: Uint8Array;
  /** For each service, the index of its first prefix in the flat prefix list, and the count. */
  prefixStart: Uint16Array;
  prefixCount: Uint16Array;
  prefixFamily: Uint8Array;
  /** Per peer: `VARIANTS` messages per prefix. */
  updates: Uint8Array[][];
  /** Per peer, per prefix: 1 while the prefix's current state is still to be sent to the peer. */
  pending: Uint8Array[];
  private done: boolean;
  /** Each session's frame: BGP's 4,096 bytes, or less on a board (see SessionOptions). */
  private readonly frameBytes: number;

  constructor(
    public config: Config,
    readonly hal: Hal,
    frameBytes?: number,
  ) {
    this.frameBytes = frameBytes ?? MESSAGE_BYTES_MAX;
    assert(this.frameBytes <= MESSAGE_BYTES_MAX, 'a frame no larger than a message');
    const services = config.services;
    const announcer = config.announcer;
    // The four per-service arrays are views of one buffer: on a board a typed array of its own
    // costs about three JsVars more than a view (firmware/slab.ts).
    const n = services.length;
    const perService = new Uint16Array(3 * n);
    this.prefixStart = perService.subarray(0, n);
    this.prefixCount = perService.subarray(n, 2 * n);
    this.state = new Uint8Array(perService.buffer, 4 * n, n);
    this.decided = new Uint8Array(perService.buffer, 5 * n, n);
    const prefixes: Prefix[] = [];
    // Per prefix, its attributes in each announcing state (RouteState order).
    const attributes: RouteAttributesConfig[] = [];
    for (let s = 0; s < services.length; s++) {
      const service = services[s]!;
      this.prefixStart[s] = prefixes.length;
      this.prefixCount[s] = service.prefixes.length;
      for (const prefix of service.prefixes) {
        prefixes.push(prefix);
        for (let state = RouteState.Announced; state <= RouteState.LastResort; state++)
          attributes.push(routeAttributes(service.announce, service.drain, config.fleet, state));
      }
    }
    this.prefixFamily = typed(Uint8Array, 1, prefixes.length);
    for (let i = 0; i < prefixes.length; i++) this.prefixFamily[i] = prefixes[i]!.family;
    this.fleet =
      FLEET && config.fleet !== null
        ? new FleetTable({
            fleet: config.fleet,
            prefixes,
            serviceFirstPrefix: this.prefixStart,
            servicePrefixCount: this.prefixCount,
            peerNames: announcer.peers.map((peer) => peer.address.text),
            localAs: announcer.localAs,
          })
        : null;
    this.addPathReceive = 0;
    const peers = announcer.peers;
    this.restart =
      GRACEFUL_RESTART && announcer.restartTimeS > 0
        ? new GracefulRestart(announcer.restartTimeS, peers.length)
        : null;
    this.gracefulShutdown =
      GRACEFUL_SHUTDOWN && announcer.gracefulShutdownMs > 0
        ? new GracefulShutdown(announcer.gracefulShutdownMs, services.length)
        : null;
    this.log = DETAILED_LOG ? new PeerLog(hal, peers.map(peerName)) : null;
    this.passive = null;
    this.bfdClient = undefined;
    this.updates = peers.map((peer) => this.buildUpdates(peer, prefixes, attributes));
    this.pending = peers.map(() => typed(Uint8Array, 1, prefixes.length));
    this.done = false;
    this.sessions = [];
  }

  private buildUpdates(
    peer: BgpPeerConfig,
    prefixes: readonly Prefix[],
    attributes: readonly RouteAttributesConfig[],
  ): Uint8Array[] {
    assert(attributes.length === prefixes.length * Build.Announcing, 'attributes per state');
    // An announcement of one prefix with the most attributes (32 communities, IPv6) is under
    // 256 bytes.
    const scratch = new Uint8Array(Build.UpdateBytesMax);
    const localAs = this.config.announcer.localAs;
    const graceful = this.gracefulShutdown !== null;
    // Without `fleet` the guard never asks for a last-resort route: nothing to build.
    const lastResort = this.fleet !== null;
    const updates: Uint8Array[] = [];
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i]!;
      const nextHop = nextHopFor(peer, prefix);
      const at = updates.length;
      for (const shutdown of GRACEFUL_SHUTDOWN ? [false, true] : [false]) {
        for (let k = 0; k < Build.Announcing; k++) {
          const chosen = attributes[i * Build.Announcing + k]!;
          const communities = shutdown
            ? chosen.communityValues.concat([Build.GracefulShutdown])
            : chosen.communityValues;
          const unused = (shutdown && !graceful) || (k === 2 && !lastResort);
          for (const as4 of [true, false]) {
            const route = { localAs, as4, nextHop, med: chosen.med, communities };
            updates.push(
              unused ? NONE : copyOut(scratch, encodeAnnounce(scratch, 0, prefix, route), updates),
            );
          }
        }
        if (!shutdown) updates.push(copyOut(scratch, encodeWithdraw(scratch, 0, prefix), updates));
      }
      assert(updates.length === at + VARIANTS, 'every prefix has all its variants');
    }
    return updates;
  }

  start(): void {
    assert(this.sessions.length === 0, 'the speaker starts once');
    const announcer = this.config.announcer;
    const routerId = announcer.routerId === null ? new Uint8Array(4) : announcer.routerId.bytes;
    // The buffer the HAL copies received bytes into, shared by the sessions.
    const receive = new Uint8Array(Limit.ReceiveBytes);
    let families = 0;
    for (let i = 0; i < this.prefixFamily.length; i++)
      families |= this.prefixFamily[i] === 4 ? Family.Ipv4 : Family.Ipv6;
    // ADD-PATH receive only with `fleet`: the table is what reads the paths.
    if (FLEET && this.fleet !== null) this.addPathReceive = families;
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
          receive,
          frameBytes: this.frameBytes,
        }),
      );
    }
    if (PASSIVE_PEERS) this.passive = new PassiveListeners(announcer.peers, this.hal);
    if (BFD && announcer.peers.some((peer) => peer.bfd !== null))
      this.bfdClient = new SpeakerBfd(this.sessions);
  }

  /**
   * A connection on one of our listeners (HalClient.streamIncoming): the passive peer at `address`
   * on it takes it, or nobody (-1).
   */
  streamIncoming(listenerId: number, address: string): number {
    if (!PASSIVE_PEERS || this.passive === null) return -1;
    const index = this.passive.peerOf(listenerId, address);
    if (index === -1) return -1;
    return this.sessions[index]!.incoming(this.hal.clock.nowMs()) ? index : -1;
  }

  /** Every peer's session now, for `status`, the lab and the metrics (STATISTICS). */
  status(nowMs: number): PeerStatus[] {
    assert(STATISTICS, 'the sessions keep their figures');
    return peerStatus(this.sessions, nowMs);
  }

  /** A checked UPDATE from `session`'s peer: its routes go to the fleet table (FLEET). */
  updateReceived(
    session: BgpSession,
    bytes: Uint8Array,
    offset: number,
    length: number,
    treatAsWithdraw: boolean,
  ): void {
    if (!FLEET || this.fleet === null) return;
    this.fleet.select(session.options.index);
    readRoutes(bytes, offset, length, session, treatAsWithdraw, this.fleet);
  }

  /** `session` left Established: its peer's routes go from the fleet table (FLEET). */
  sessionDown(session: BgpSession): void {
    if (FLEET && this.fleet !== null) this.fleet.sessionDown(session.options.index);
  }

  /**
   * Sends `session` its pending prefixes in their current state, in prefix order, until the
   * stream refuses one (it stays pending for `streamWritable`), then its End-of-RIB if due.
   * Bounded by the prefix count.
   */
  drain(session: BgpSession): void {
    const pending = this.pending[session.options.index]!;
    const updates = this.updates[session.options.index]!;
    const gracefulShutdown = this.gracefulShutdown;
    for (let s = 0; s < this.state.length; s++) {
      // The variant of service `s`'s prefixes that `session` is to have now.
      const state = this.state[s]!;
      const graceful =
        GRACEFUL_SHUTDOWN && gracefulShutdown !== null && gracefulShutdown.untilMs[s] !== Infinity;
      const variant =
        state === RouteState.Withdrawn
          ? Build.VariantWithdraw
          : (graceful ? Build.VariantGracefulShutdown : 0) +
            (state - RouteState.Announced) * 2 +
            (session.as4 ? 0 : 1);
      for (let i = this.prefixStart[s]!; i < this.prefixStart[s]! + this.prefixCount[s]!; i++) {
        if (pending[i] === 0) continue;
        if (!session.write(updates[i * VARIANTS + variant]!)) return;
        pending[i] = 0;
      }
    }
    if (GRACEFUL_RESTART && this.restart !== null) this.sendEndOfRib(session, this.restart);
  }

  /**
   * Sends `session` the End-of-RIB (RFC 4724 2) of each family still due, once every service has
   * its first decision: an End-of-RIB before the routes would have the router drop the ones it
   * kept through our restart.
   */
  private sendEndOfRib(session: BgpSession, restart: GracefulRestart): void {
    const index = session.options.index;
    if (restart.endOfRibPending[index] === 0) return;
    for (let s = 0; s < this.decided.length; s++) if (this.decided[s] === 0) return;
    for (let f = 0; f < 2; f++) {
      const family = f === 0 ? Family.Ipv4 : Family.Ipv6;
      if ((restart.endOfRibPending[index]! & family) === 0) continue;
      if (!session.write(restart.endOfRib[f]!)) return;
      restart.endOfRibPending[index] = restart.endOfRibPending[index]! & ~family;
    }
  }

  /**
   * `urgent`: withdraw at once even with graceful shutdown on (the local service failed: the
   * traffic it still attracts would be lost anyway).
   */
  serviceStateChanged(service: number, state: RouteState, urgent?: boolean): void {
    assert(service >= 0 && service < this.state.length, 'a configured service');
    const previous = this.state[service]!;
    this.decided[service] = 1;
    const gracefulShutdown = this.gracefulShutdown;
    const graceful =
      GRACEFUL_SHUTDOWN &&
      gracefulShutdown !== null &&
      state === RouteState.Withdrawn &&
      urgent !== true &&
      previous !== RouteState.Withdrawn;
    if (graceful) {
      // Already on its way out: the first deadline stands.
      if (!gracefulShutdown.begin(service, this.hal.clock.nowMs())) return;
    } else {
      if (GRACEFUL_SHUTDOWN && gracefulShutdown !== null)
        gracefulShutdown.untilMs[service] = Infinity;
      this.state[service] = state;
    }
    this.markPending(service);
  }

  /** Every established peer is told: service `service`'s prefixes (of its families) are pending. */
  private markPending(service: number): void {
    const end = this.prefixStart[service]! + this.prefixCount[service]!;
    for (const session of this.sessions) {
      if (session.state !== SessionState.Established) continue;
      const pending = this.pending[session.options.index]!;
      for (let i = this.prefixStart[service]!; i < end; i++) {
        const family = this.prefixFamily[i] === 4 ? Family.Ipv4 : Family.Ipv6;
        if ((session.families & family) !== 0) pending[i] = 1;
      }
      this.drain(session);
    }
  }

  established(session: BgpSession): void {
    assert(session.state === SessionState.Established, 'told when Established');
    const index = session.options.index;
    this.pending[index]!.fill(0);
    if (FLEET && this.fleet !== null) this.fleet.sessionUp(index, session);
    // With graceful restart, the routes are followed by End-of-RIB: the router then drops what it
    // kept from before the restart and was not announced again (RFC 4724 4.2). After a restart
    // that is once every service has decided (`rise` or `fall` rounds after boot).
    if (GRACEFUL_RESTART && this.restart !== null)
      this.restart.established(index, session.families);
    this.refreshRequested(session, session.families);
  }

  /**
   * Sends `session` the prefixes of `families` (again): those of every service that has decided
   * and is not withdrawn (the peer has none of the others).
   */
  refreshRequested(session: BgpSession, families: number): void {
    assert((families & ~session.families) === 0, 'families the session carries');
    const pending = this.pending[session.options.index]!;
    for (let s = 0; s < this.state.length; s++) {
      if (this.decided[s] === 0 || this.state[s] === RouteState.Withdrawn) continue;
      for (let i = this.prefixStart[s]!; i < this.prefixStart[s]! + this.prefixCount[s]!; i++) {
        const family = this.prefixFamily[i] === 4 ? Family.Ipv4 : Family.Ipv6;
        if ((families & family) !== 0) pending[i] = 1;
      }
    }
    this.drain(session);
  }

  tick(nowMs: number): number {
    let next = Infinity;
    const gracefulShutdown = this.gracefulShutdown;
    if (GRACEFUL_SHUTDOWN && gracefulShutdown !== null) {
      for (let s = 0; s < this.state.length; s++) {
        const untilMs = gracefulShutdown.untilMs[s]!;
        if (untilMs === Infinity) continue;
        if (nowMs < untilMs) {
          next = Math.min(next, untilMs);
          continue;
        }
        // Its graceful shutdown is over: withdrawn now, as an urgent withdrawal would be.
        this.serviceStateChanged(s, RouteState.Withdrawn, true);
      }
      if (gracefulShutdown.stopping && next === Infinity) this.finishStop(nowMs);
    }
    // Called only when there is something to report: a double argument to a call that is not
    // inlined is boxed (BFD's wake-ups fall between whole milliseconds).
    const log = this.log;
    if (DETAILED_LOG && log !== null && log.throttle.pendingSuppressed > 0) log.flush(nowMs);
    for (let i = 0; i < this.sessions.length; i++) {
      const session = this.sessions[i]!;
      session.tick(nowMs);
      next = Math.min(next, session.dueMs);
    }
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

  /**
   * Clean shutdown. With `withdraw` and graceful shutdown on, the announced services go through
   * their GRACEFUL_SHUTDOWN time first (`tick` runs on meanwhile; `stopped` says when it is over);
   * then every prefix is withdrawn and every session gets CEASE. Keeping the routes with graceful
   * restart on closes the sessions without CEASE: the routers keep the routes for the restart time
   * (a restart under systemd: an upgrade, a new config).
   */
  shutdown(withdraw: boolean): void {
    const gracefulShutdown = this.gracefulShutdown;
    const stopping = GRACEFUL_SHUTDOWN && gracefulShutdown !== null && gracefulShutdown.stopping;
    if (stopping || this.done) return;
    if (GRACEFUL_SHUTDOWN && gracefulShutdown !== null) gracefulShutdown.stopping = true;
    if (withdraw) {
      for (let s = 0; s < this.state.length; s++) this.serviceStateChanged(s, RouteState.Withdrawn);
    }
    if (GRACEFUL_RESTART && this.restart !== null) this.restart.restarting = !withdraw;
    if (!withdraw || gracefulShutdown === null) this.finishStop(this.hal.clock.nowMs());
  }

  private finishStop(nowMs: number): void {
    if (GRACEFUL_SHUTDOWN && this.gracefulShutdown !== null) this.gracefulShutdown.stopping = false;
    this.done = true;
    if (PASSIVE_PEERS && this.passive !== null) this.passive.close();
    const restarting = GRACEFUL_RESTART && this.restart !== null && this.restart.restarting;
    for (const session of this.sessions) session.shutdown(nowMs, restarting);
  }

  stopped(): boolean {
    return this.done;
  }
}

/** The next hop `peer` is told for `prefix`: configured per family, else its local address. */
function nextHopFor(peer: BgpPeerConfig, prefix: Prefix): Address {
  const local =
    peer.localAddress !== null && peer.localAddress.family === prefix.family
      ? peer.localAddress
      : null;
  const nextHop = (prefix.family === 4 ? peer.nextHopV4 : peer.nextHopV6) ?? local;
  if (nextHop === null)
    throw new Error('config: peer ' + peer.address.text + ' has no next hop for ' + prefix.text);
  return nextHop;
}

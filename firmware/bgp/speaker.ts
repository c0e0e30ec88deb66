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
import { FleetTable } from '../fleet';
import type { BgpPeerConfig, Config, RouteAttributesConfig } from '../config';
import type { Hal, ListenKey, StreamListener } from '../hal';
import type { Prefix } from '../address';
import {
  encodeAnnounce,
  encodeEndOfRib,
  encodeWithdraw,
  Family,
  MESSAGE_BYTES_MAX,
  readRoutes,
} from './codec';
import {
  BgpSession,
  Limit,
  LogEvent,
  SESSION_STATE_NAMES,
  SessionState,
  type SessionOptions,
  type SessionOwner,
} from './session';
import { typed } from '../slab';
import { newThrottle, nextSuppressed, type Throttle } from '../throttle';
import {
  FLEET,
  GRACEFUL_RESTART,
  GRACEFUL_SHUTDOWN,
  PASSIVE_PEERS,
  STATISTICS,
  DETAILED_LOG,
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
const VARIANTS = GRACEFUL_SHUTDOWN ? 13 : 7;
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

/**
 * Gives `speaker` the session hooks that feed `table`: functions set on the instance, not methods,
 * so that a board without `fleet` carries none of it.
 */
function fleetHooks(speaker: BgpSpeaker, table: FleetTable): void {
  speaker.updateReceived = (session, bytes, offset, length, treatAsWithdraw) => {
    table.select(session.options.index);
    readRoutes(bytes, offset, length, session, treatAsWithdraw, table);
  };
  speaker.sessionDown = (session) => table.sessionDown(session.options.index);
}

/**
 * Opens one listener per family, local address and port that passive peers share, each with the
 * MD5 keys of all its peers, and notes each passive peer's listener in `listenerOf` (-1: none).
 * Not on a board (it does not listen).
 */
function listenPassive(
  peers: readonly BgpPeerConfig[],
  hal: Hal,
  listenerOf: Int8Array,
): StreamListener[] {
  let count = 0;
  const first: number[] = [];
  for (let index = 0; index < peers.length; index++) {
    const peer = peers[index]!;
    if (!peer.passive) continue;
    const local = peer.localAddress === null ? null : peer.localAddress.text;
    for (let other = 0; other < index && listenerOf[index] === -1; other++) {
      const same = peers[other]!;
      const sameLocal = same.localAddress === null ? null : same.localAddress.text;
      const shared = same.passive && same.port === peer.port && sameLocal === local;
      if (shared && same.address.family === peer.address.family)
        listenerOf[index] = listenerOf[other]!;
    }
    if (listenerOf[index] !== -1) continue;
    listenerOf[index] = count++;
    first.push(index);
  }
  const listeners: StreamListener[] = [];
  for (let listenerId = 0; listenerId < count; listenerId++) {
    const peer = peers[first[listenerId]!]!;
    const keys: ListenKey[] = [];
    for (let index = 0; index < peers.length; index++) {
      const passwordFile = peers[index]!.passwordFile;
      if (listenerOf[index] === listenerId && passwordFile !== null)
        keys.push({ address: peers[index]!.address.text, passwordFile });
    }
    listeners.push(
      hal.listen({
        listenerId,
        family: peer.address.family,
        address: peer.localAddress === null ? null : peer.localAddress.text,
        port: peer.port,
        keys,
      }),
    );
  }
  return listeners;
}

/** Every peer's session now. Allocates: for the metrics and the lab, not the loop. */
function peerStatus(sessions: readonly BgpSession[], nowMs: number): PeerStatus[] {
  return sessions.map((session) => ({
    peer: session.name,
    state: SESSION_STATE_NAMES[session.state]!,
    uptimeMs: session.state === SessionState.Established ? nowMs - session.establishedAtMs : 0,
    lastError: session.lastError,
    updatesSent: session.updatesSent,
    updatesReceived: session.updatesReceived,
    attributeDiscard: session.attributeDiscard,
    treatAsWithdraw: session.treatAsWithdraw,
    afiSafiDisable: session.afiSafiDisable,
    updateResets: session.updateResets,
    connectionsRefused: session.connectionsRefused,
    establishedCount: session.establishedCount,
  }));
}

export class BgpSpeaker implements Announcer, SessionOwner {
  readonly sessions: BgpSession[];
  /**
   * Every peer's session now (peerStatus). Not on a board (LIFELINE_LEAN): nothing there asks, and
   * its sessions keep no statistics.
   */
  readonly status!: (nowMs: number) => PeerStatus[];
  /**
   * The other sites' routes, with `fleet` configured (else null). Not even assigned on a board
   * without `fleet` (build.mjs): read only where LIFELINE_FLEET is not false.
   */
  readonly fleet!: FleetTable | null;
  /** The session's hooks for received routes (SessionOwner), set only with `fleet`. */
  updateReceived?: NonNullable<SessionOwner['updateReceived']>;
  sessionDown?: NonNullable<SessionOwner['sessionDown']>;
  /**
   * A connection on one of our listeners: the passive peer at `address` on it takes it. Set by
   * `start`, not on a board (it does not listen: HalClient.streamIncoming).
   */
  streamIncoming!: (listenerId: number, address: string) => number;
  /** The listeners, for the stop. Not on a board. */
  private listeners!: StreamListener[];
  /**
   * The throttle of the sessions' lines about what their peers did (connections, malformed
   * UPDATEs), its `suppressedTotal` for the metrics. Not on a board, which logs none of them.
   */
  readonly throttle!: Throttle;
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
  /**
   * Per peer: the families whose End-of-RIB (RFC 4724 2) follows the pending routes. This and the
   * next two only where LIFELINE_BGP_GR is not false.
   */
  private readonly endOfRibPending!: Uint8Array;
  /** End-of-RIB for IPv4 and IPv6 unicast. */
  private readonly endOfRib!: Uint8Array[];
  /** The stop keeps the routes for a graceful restart: no CEASE. */
  private restarting!: boolean;
  /**
   * Per service: until when its routes carry GRACEFUL_SHUTDOWN before they go, or Infinity. This
   * and the next only where LIFELINE_BGP_GSHUT is not false.
   */
  private readonly gracefulUntilMs!: Float64Array;
  /** A stop is under way: it ends (CEASE to every peer) when no service is in graceful shutdown. */
  private stopping!: boolean;
  private done: boolean;
  /** Each session's frame size (a name of the class's own: shortened on a board). */
  private readonly frameSize: number;

  constructor(
    private readonly config: Config,
    private readonly hal: Hal,
    /** Each session's frame: BGP's 4,096 bytes, or less on a board (see SessionOptions). */
    frameBytes?: number,
  ) {
    this.frameSize = frameBytes ?? MESSAGE_BYTES_MAX;
    const services = config.services;
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
      this.prefixStart[s] = prefixes.length;
      this.prefixCount[s] = services[s]!.prefixes.length;
      const service = services[s]!;
      for (const prefix of service.prefixes) {
        prefixes.push(prefix);
        for (let state = RouteState.Announced; state <= RouteState.LastResort; state++)
          attributes.push(routeAttributes(service.announce, service.drain, config.fleet, state));
      }
    }
    if (FLEET) {
      const table =
        config.fleet === null
          ? null
          : new FleetTable({
              fleet: config.fleet,
              prefixes,
              firstPrefixOf: this.prefixStart,
              prefixCountOf: this.prefixCount,
              peerNames: config.announcer.peers.map((peer) => peer.address.text),
              localAs: config.announcer.localAs,
            });
      this.fleet = table;
      if (table !== null) fleetHooks(this, table);
    }
    this.prefixFamily = typed(Uint8Array, 1, prefixes.length);
    for (let i = 0; i < prefixes.length; i++) this.prefixFamily[i] = prefixes[i]!.family;
    this.updates = config.announcer.peers.map((peer) =>
      this.buildUpdates(peer, prefixes, attributes),
    );
    this.pending = config.announcer.peers.map(() => typed(Uint8Array, 1, prefixes.length));
    if (GRACEFUL_RESTART) {
      this.endOfRibPending = new Uint8Array(config.announcer.peers.length);
      const scratch = new Uint8Array(32); // an End-of-RIB is 23 or 29 bytes: no 4 KB on a board
      this.endOfRib = [Family.Ipv4, Family.Ipv6].map((family) =>
        copyOut(scratch, encodeEndOfRib(scratch, 0, family), []),
      );
      this.restarting = false;
    }
    if (GRACEFUL_SHUTDOWN) {
      this.gracefulUntilMs = new Float64Array(services.length).fill(Infinity);
      this.stopping = false;
    }
    this.done = false;
    this.sessions = [];
    if (STATISTICS) {
      this.listeners = [];
      this.status = (nowMs) => peerStatus(this.sessions, nowMs);
      this.throttle = newThrottle(LogEvent.Kinds * config.announcer.peers.length);
    }
  }

  private buildUpdates(
    peer: BgpPeerConfig,
    prefixes: readonly Prefix[],
    attributes: readonly RouteAttributesConfig[],
  ): Uint8Array[] {
    // An announcement of one prefix with the most attributes (32 communities, IPv6) is under
    // 256 bytes.
    const scratch = new Uint8Array(Build.UpdateBytesMax);
    const localAs = this.config.announcer.localAs;
    const graceful = this.config.announcer.gracefulShutdownMs > 0;
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
      const at = updates.length;
      const gshut = GRACEFUL_SHUTDOWN;
      for (const shutdown of gshut ? [false, true] : [false]) {
        for (let k = 0; k < Build.Announcing; k++) {
          const chosen = attributes[i * Build.Announcing + k]!;
          const communities = shutdown
            ? chosen.communityValues.concat([Build.GracefulShutdown])
            : chosen.communityValues;
          // Without `fleet` the guard never asks for a last-resort route: nothing to build.
          const lastResort = FLEET && this.fleet !== null;
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
    const announcer = this.config.announcer;
    const routerId = announcer.routerId === null ? new Uint8Array(4) : announcer.routerId.bytes;
    // The buffer the HAL copies received bytes into, shared by the sessions.
    const receive = new Uint8Array(Limit.ReceiveBytes);
    let families = 0;
    for (let i = 0; i < this.prefixFamily.length; i++)
      families |= this.prefixFamily[i] === 4 ? Family.Ipv4 : Family.Ipv6;
    for (let index = 0; index < announcer.peers.length; index++) {
      const options: SessionOptions = {
        index,
        peer: announcer.peers[index]!,
        localAs: announcer.localAs,
        routerId,
        families,
        hal: this.hal,
        owner: this,
        receive,
        frameBytes: this.frameSize,
      };
      // Set after the literal: a board without graceful restart carries no key for it.
      if (GRACEFUL_RESTART) options.restartTimeS = announcer.restartTimeS;
      if (DETAILED_LOG) options.throttle = this.throttle;
      // ADD-PATH receive only with `fleet`: the table is what reads the paths.
      if (FLEET) if (this.fleet !== null) options.addPathReceive = families;
      this.sessions.push(new BgpSession(options));
    }
    if (PASSIVE_PEERS) {
      const listenerOf = new Int8Array(announcer.peers.length).fill(-1);
      this.listeners = listenPassive(announcer.peers, this.hal, listenerOf);
      this.streamIncoming = (listenerId, address) => {
        const nowMs = this.hal.clock.nowMs();
        for (let i = 0; i < this.sessions.length; i++) {
          const session = this.sessions[i]!;
          if (listenerOf[i] === listenerId && session.options.peer.address.text === address)
            return session.incoming(nowMs) ? i : -1;
        }
        return -1;
      };
    }
  }

  /**
   * Sends `session`'s pending prefixes in their current state, in prefix order, until the stream
   * refuses one (it stays pending for `streamWritable`). Bounded by the prefix count.
   */
  private drain(session: BgpSession): void {
    const pending = this.pending[session.options.index]!;
    const updates = this.updates[session.options.index]!;
    const gshut = GRACEFUL_SHUTDOWN;
    for (let s = 0; s < this.state.length; s++) {
      // The variant of service `s`'s prefixes that `session` is to have now.
      const state = this.state[s]!;
      const graceful = gshut && this.gracefulUntilMs[s] !== Infinity;
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
    const index = session.options.index;
    if (GRACEFUL_RESTART) {
      if (this.endOfRibPending[index] === 0) return;
      // Not before every service has its first decision: an End-of-RIB before the routes would
      // have the router drop the ones it kept through our restart.
      for (let s = 0; s < this.decided.length; s++) if (this.decided[s] === 0) return;
      for (let f = 0; f < 2; f++) {
        const family = f === 0 ? Family.Ipv4 : Family.Ipv6;
        if ((this.endOfRibPending[index]! & family) === 0) continue;
        if (!session.write(this.endOfRib[f]!)) return;
        this.endOfRibPending[index] = this.endOfRibPending[index]! & ~family;
      }
    }
  }

  /**
   * `urgent`: withdraw at once even with graceful shutdown on (the local service failed: the
   * traffic it still attracts would be lost anyway).
   */
  serviceStateChanged(service: number, state: RouteState, urgent?: boolean): void {
    const previous = this.state[service]!;
    this.decided[service] = 1;
    const graceful =
      GRACEFUL_SHUTDOWN &&
      state === RouteState.Withdrawn &&
      urgent !== true &&
      this.config.announcer.gracefulShutdownMs > 0 &&
      previous !== RouteState.Withdrawn;
    if (graceful) {
      // Already on its way out: the first deadline stands.
      if (this.gracefulUntilMs[service] !== Infinity) return;
      this.gracefulUntilMs[service] =
        this.hal.clock.nowMs() + this.config.announcer.gracefulShutdownMs;
    } else {
      if (GRACEFUL_SHUTDOWN) this.gracefulUntilMs[service] = Infinity;
      this.state[service] = state;
    }
    // Every established peer is told: the service's prefixes (of its families) are pending.
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
    this.pending[session.options.index]!.fill(0);
    if (FLEET) {
      if (this.fleet !== null) this.fleet.sessionUp(session.options.index, session);
    }
    // With graceful restart, the routes are followed by End-of-RIB: the router then drops what it
    // kept from before the restart and was not announced again (RFC 4724 4.2). After a restart
    // that is once every service has decided (`rise` or `fall` rounds after boot).
    if (GRACEFUL_RESTART)
      if (this.config.announcer.restartTimeS > 0)
        this.endOfRibPending[session.options.index] = session.families;
    this.refreshRequested(session, session.families);
  }

  /**
   * Sends `session` the prefixes of `families` (again): those of every service that has decided
   * and is not withdrawn (the peer has none of the others).
   */
  refreshRequested(session: BgpSession, families: number): void {
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
    const gshut = GRACEFUL_SHUTDOWN;
    for (let s = 0; gshut && s < this.state.length; s++) {
      const untilMs = this.gracefulUntilMs[s]!;
      if (untilMs === Infinity) continue;
      if (nowMs < untilMs) {
        next = Math.min(next, untilMs);
        continue;
      }
      // Its graceful shutdown is over: withdrawn now, as an urgent withdrawal would be.
      this.serviceStateChanged(s, RouteState.Withdrawn, true);
    }
    if (gshut && this.stopping && next === Infinity) this.finishStop(nowMs);
    if (DETAILED_LOG) {
      const throttle = this.throttle;
      if (throttle.pendingSuppressed > 0)
        for (let line = nextSuppressed(throttle, nowMs); line !== '';) {
          this.hal.log('bgp suppressed ' + line);
          line = nextSuppressed(throttle, nowMs);
        }
    }
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

  /**
   * Clean shutdown. With `withdraw` and graceful shutdown on, the announced services go through
   * their GRACEFUL_SHUTDOWN time first (`tick` runs on meanwhile; `stopped` says when it is over);
   * then every prefix is withdrawn and every session gets CEASE. Keeping the routes with graceful
   * restart on closes the sessions without CEASE: the routers keep the routes for the restart time
   * (a restart under systemd: an upgrade, a new config).
   */
  shutdown(withdraw: boolean): void {
    const gshut = GRACEFUL_SHUTDOWN;
    if ((gshut && this.stopping) || this.done) return;
    if (gshut) this.stopping = true;
    if (withdraw) {
      for (let s = 0; s < this.state.length; s++) this.serviceStateChanged(s, RouteState.Withdrawn);
    }
    if (GRACEFUL_RESTART) this.restarting = !withdraw && this.config.announcer.restartTimeS > 0;
    if (!withdraw || this.config.announcer.gracefulShutdownMs === 0)
      this.finishStop(this.hal.clock.nowMs());
  }

  private finishStop(nowMs: number): void {
    if (GRACEFUL_SHUTDOWN) this.stopping = false;
    this.done = true;
    if (PASSIVE_PEERS) for (const listener of this.listeners) listener.close();
    const restarting = GRACEFUL_RESTART && this.restarting;
    for (const session of this.sessions) session.shutdown(nowMs, restarting);
  }

  stopped(): boolean {
    return this.done;
  }
}

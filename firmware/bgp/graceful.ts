// What the speaker keeps for graceful restart (RFC 4724, GRACEFUL_RESTART) and graceful shutdown
// (RFC 8326, GRACEFUL_SHUTDOWN), each only where the config asks for it (a board without it
// carries neither, firmware/features.ts). The speaker (firmware/bgp/speaker.ts) decides with them.

import { assert } from '../assert';
import { typed } from '../slab';
import { encodeEndOfRib, Family } from './codec';

/**
 * Graceful restart: the restart time we offer in our OPEN; per peer whether we have restarted
 * (no session since boot: our OPEN says so, RFC 4724 3) and the families whose End-of-RIB (RFC
 * 4724 2) follows the routes; whether a stop keeps the routes for the restart.
 */
export class GracefulRestart {
  /** Per peer, 1 until its session first reaches Established (the OPEN's Restart State bit). */
  readonly restarted: Uint8Array;
  /** Per peer: the families (Family bits) whose End-of-RIB follows the pending routes. */
  readonly endOfRibPending: Uint8Array;
  /** End-of-RIB for IPv4 and IPv6 unicast (Family order). */
  readonly endOfRib: readonly Uint8Array[];
  /** The stop keeps the routes for the restart: the sessions close without a CEASE (4.2). */
  restarting: boolean;

  constructor(
    readonly timeS: number,
    peerCount: number,
  ) {
    assert(timeS > 0 && timeS <= 0x0fff, 'a restart time the capability can carry');
    this.restarted = typed(Uint8Array, 1, peerCount).fill(1);
    this.endOfRibPending = typed(Uint8Array, 1, peerCount);
    const scratch = new Uint8Array(32); // an End-of-RIB is 23 or 29 bytes: no 4 KB on a board
    const endOfRib: Uint8Array[] = [];
    for (const family of [Family.Ipv4, Family.Ipv6]) {
      const length = encodeEndOfRib(scratch, 0, family);
      const message = typed(Uint8Array, 1, length);
      message.set(scratch.subarray(0, length));
      endOfRib.push(message);
    }
    this.endOfRib = endOfRib;
    this.restarting = false;
  }

  /**
   * Peer `peer`'s session reached Established carrying `families`: it has seen us since our
   * restart, and the routes are followed by End-of-RIB, after which the router drops what it kept
   * from before the restart and was not announced again (4.2).
   */
  established(peer: number, families: number): void {
    assert(families !== 0, 'an Established session carries a family');
    this.restarted[peer] = 0;
    this.endOfRibPending[peer] = families;
  }
}

/**
 * Graceful shutdown: per service, until when its routes are announced with GRACEFUL_SHUTDOWN
 * before they go, so that routers move the traffic first; and whether a stop waits for those.
 */
export class GracefulShutdown {
  /** Per service: the end of its graceful shutdown, or Infinity (none under way). */
  readonly untilMs: Float64Array;
  /** A stop is under way: it ends (CEASE to every peer) when no service is in graceful shutdown. */
  stopping: boolean;

  constructor(
    readonly durationMs: number,
    serviceCount: number,
  ) {
    assert(durationMs > 0, 'a graceful shutdown takes time');
    this.untilMs = typed(Float64Array, 8, serviceCount).fill(Infinity);
    this.stopping = false;
  }

  /** Service `s` starts its graceful shutdown now; false when one is under way (it stands). */
  begin(s: number, nowMs: number): boolean {
    if (this.untilMs[s] !== Infinity) return false;
    this.untilMs[s] = nowMs + this.durationMs;
    return true;
  }
}

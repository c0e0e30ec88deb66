// Announcers turn a service's effective state into routes: the ExaBGP announcer (text API lines on
// the HAL's emit channel, stdout on Node) and the built-in BGP speaker (firmware/bgp/speaker.ts).
// Both build what they send at boot; a change only sends it.

import type { BfdClient } from './bfd/bfd';
import type { Config, FleetConfig, RouteAttributesConfig } from './config';
import type { FleetView } from './fleet';
import type { Hal } from './hal';
import { FLEET } from './features';

/** What the routes of a service should be. */
export const enum RouteState {
  Withdrawn = 0,
  Announced = 1,
  /** Announced with the service's `drain` attributes (a high MED, a community), not withdrawn. */
  Drained = 2,
  /**
   * Announced only because the fleet guard will not remove the last normal announcement
   * (firmware/guard.ts): the service's attributes plus `fleet.lastResortCommunity` and MED.
   */
  LastResort = 3,
}

export const ROUTE_STATE_NAMES: readonly string[] = ['withdrawn', 'announced', 'drained'];
// Only the guard asks for a last-resort route: a board without it has no name for one.
if (FLEET) (ROUTE_STATE_NAMES as string[]).push('last-resort');

/**
 * The attributes a route in `state` (Announced, Drained or LastResort) carries: the service's (or
 * its drain's), plus with `fleet` the site community, and for a route that does not count as
 * healthy (drained, last resort) the last-resort community; a last-resort route takes
 * `fleet.lastResortMed` when set. Rare: allocates (boot).
 */
export function routeAttributes(
  announce: RouteAttributesConfig,
  drain: RouteAttributesConfig | null,
  fleet: FleetConfig | null,
  state: RouteState,
): RouteAttributesConfig {
  const chosen = state === RouteState.Drained && drain !== null ? drain : announce;
  if (!FLEET) return chosen;
  if (fleet === null) return chosen;
  const communities = chosen.communities.concat([fleet.siteCommunity]);
  const communityValues = chosen.communityValues.concat([fleet.siteCommunityValue]);
  if (state !== RouteState.Announced) {
    communities.push(fleet.lastResortCommunity);
    communityValues.push(fleet.lastResortCommunityValue);
  }
  const lastResortMed = state === RouteState.LastResort ? fleet.lastResortMed : -1;
  return { med: lastResortMed >= 0 ? lastResortMed : chosen.med, communities, communityValues };
}

export interface Announcer {
  /** Opens what the announcer needs (sessions); the HAL has the firmware attached. */
  start(): void;
  /**
   * Service `service` is now to be in `state`. `urgent`: a withdrawal that must not wait (the
   * local service failed), not even for a graceful shutdown. Rare: may allocate.
   */
  serviceStateChanged(service: number, state: RouteState, urgent?: boolean): void;
  /** Runs the announcer's timers; returns its next deadline (Infinity: none). */
  tick(nowMs: number): number;
  streamConnected(streamId: number): void;
  streamReceived(streamId: number, length: number): void;
  streamClosed(streamId: number): void;
  /** The stream can take writes again after refusing one (see HalClient.streamWritable). */
  streamWritable(streamId: number): void;
  /** A connection on a listener: the stream that takes it, or -1 (HalClient.streamIncoming). */
  streamIncoming(listenerId: number, address: string): number;
  /**
   * Clean shutdown; `withdraw` true: withdraw every prefix first. It may take time (a graceful
   * shutdown): `tick` and the stream events go on until `stopped`.
   */
  shutdown(withdraw: boolean): void;
  stopped(): boolean;
  /** The BGP speaker's seam for BFD (firmware/bfd/bfd.ts); absent without BFD peers. */
  readonly bfdClient?: BfdClient | undefined;
  /** What the announcer learns of the other sites (firmware/fleet.ts); absent or null: nothing. */
  readonly fleet?: FleetView | null;
}

function exabgpAttributes(attributes: RouteAttributesConfig): string {
  let text = attributes.med >= 0 ? ' med ' + attributes.med : '';
  if (attributes.communities.length > 0)
    text += ' community [ ' + attributes.communities.join(' ') + ' ]';
  return text;
}

export class ExaBgpAnnouncer implements Announcer {
  /** Per service, its lines for each RouteState (a reload replaces them: appliance/reload-*.ts). */
  lines: readonly (readonly string[])[];

  constructor(
    config: Config,
    readonly hal: Hal,
  ) {
    const v4 = config.announcer.nextHopV4;
    const v6 = config.announcer.nextHopV6;
    // `self` by default (docs/reference.md); an explicit next hop where configured, since `next-hop
    // self` from an API process is sent without a usable NEXT_HOP by some ExaBGP releases
    // (docs/bgp.md, "ExaBGP").
    const nextHop = (family: 4 | 6): string => (family === 4 ? v4 : v6)?.text ?? 'self';
    // Per service, the lines for each RouteState in order: withdrawn, announced, drained, last
    // resort (without `fleet`, announced again: the guard never asks for it).
    const fleet = config.fleet;
    this.lines = config.services.map((service) => {
      const route = (verb: string, state: RouteState): string[] => {
        const chosen = routeAttributes(service.announce, service.drain, fleet, state);
        const attributes = verb === 'withdraw' ? '' : exabgpAttributes(chosen);
        return service.prefixes.map(
          (prefix) =>
            verb + ' route ' + prefix.text + ' next-hop ' + nextHop(prefix.family) + attributes,
        );
      };
      const announced = route('announce', RouteState.Announced);
      return route('withdraw', RouteState.Withdrawn).concat(
        announced,
        route(service.drain === null ? 'withdraw' : 'announce', RouteState.Drained),
        FLEET && fleet !== null ? route('announce', RouteState.LastResort) : announced,
      );
    });
  }

  start(): void {}

  serviceStateChanged(service: number, state: RouteState): void {
    const lines = this.lines[service]!;
    const count = lines.length / 4;
    for (let i = state * count; i < (state + 1) * count; i++) this.hal.emit(lines[i]!);
  }

  tick(): number {
    return Infinity;
  }

  streamConnected(): void {}
  streamReceived(): void {}
  streamWritable(): void {}
  streamClosed(): void {}
  streamIncoming(): number {
    return -1;
  }

  stopped(): boolean {
    return true;
  }

  shutdown(withdraw: boolean): void {
    if (!withdraw) return;
    // Everything is withdrawn, announced or not: ExaBGP may still hold routes from an earlier run.
    for (let service = 0; service < this.lines.length; service++) {
      this.serviceStateChanged(service, RouteState.Withdrawn);
    }
  }
}

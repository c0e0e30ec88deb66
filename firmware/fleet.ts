// The fleet table: what the upstream router says the other sites announce for the services'
// prefixes (issue 12). The built-in speaker hands it every route of every received UPDATE
// (firmware/bgp/codec.ts `readRoutes`, with ADD-PATH path identifiers when the peer sends them);
// the table keeps, per peer and configured prefix, up to `fleet.maxSites` routes that announce
// normally (a site community that is not ours, no last-resort community, an origin AS of the
// fleet's), and the guard (firmware/guard.ts) asks it how many distinct other sites announce each
// service, over the families an Established session carries. Sized at boot, typed arrays only:
// an UPDATE allocates nothing. A peer's routes go when its session drops.
//
// The trust model (docs/fleet-safety.md): the router is trusted to relay what the sites announce
// and to keep the site communities to the sites' sessions. What the table checks is what a route
// itself can say: a path whose origin AS is not one of `fleet.siteAs` (a leak from elsewhere, or a
// route the router made up) is not a site, nor is our own path sent back, and no prefix counts
// more than `maxSites` other sites.
//
// Contract for the input side (the page firmware/hal.ts is for the HAL):
// - `sessionUp(peer, session)` when a session reaches Established, `sessionDown(peer)` when it
//   leaves it (both clear the peer's routes); routes arrive only between the two.
// - `select(peer)` before `readRoutes(..., table)`; `attributes` then `route`s then maybe
//   `endOfRib` follow (the RouteSink contract), never keeping the bytes.
// - `known`, `healthyOthers` and `unseen` may be called at any time and allocate nothing.
// Routes' origins come resolved (`readRoutes`: an empty AS_PATH is the peer's AS).

import { assert } from './assert';
import type { Prefix } from './address';
import type { FleetConfig } from './config';
import { Family, long, type RouteSink } from './bgp/codec';
import { IPV6 } from './features';

/** What the guard needs to know of the fleet, per service. */
export interface FleetView {
  /**
   * A view exists for service s: some Established session has, since it came up, sent a route
   * for one of s's prefixes or End-of-RIB.
   */
  known(service: number): boolean;
  /**
   * Other sites announcing service s normally (a site community not ours, no last resort, an
   * origin AS of the fleet's), the least over its prefixes of the families a session carries.
   */
  healthyOthers(service: number): number;
  /**
   * The families (Family bits) of s's prefixes that no Established session carries while one is
   * up: their prefixes are not counted. (Absent: every family is seen.)
   */
  unseen?(service: number): number;
  /** Things to audit once each (a peer without ADD-PATH, a full table), appended, never removed. */
  readonly notices?: readonly string[];
}

/** No site: a slot that is free, or a route that does not announce normally. */
const NO_SITE = -1;

/** What the table needs of a session that came up (a BgpSession is one). */
export interface FleetSession {
  /** The families negotiated (Family bits): only their prefixes are counted. */
  readonly families: number;
  /** The families the peer sends path identifiers for. */
  readonly addPath: number;
}

export interface FleetTableOptions {
  readonly fleet: FleetConfig;
  /** Every configured prefix, services' in order. */
  readonly prefixes: readonly Prefix[];
  /** Per service, its first prefix in `prefixes`, and how many it has. */
  readonly serviceFirstPrefix: Uint16Array;
  readonly servicePrefixCount: Uint16Array;
  /** Per peer, its name for the notices. */
  readonly peerNames: readonly string[];
  /**
   * Our AS: the origin a site's route has when `fleet.siteAs` is not set (0: none yet; the
   * ExaBGP view adds its neighbours' with `addLocalAs`).
   */
  readonly localAs: number;
}

export class FleetTable implements FleetView, RouteSink {
  readonly notices: string[];
  /** Routes refused because the peer's slots for the prefix were full. */
  overflows: number;
  /** Routes for prefixes that are not ours (the router's filter lets more through than needed). */
  foreignRoutes: number;
  private readonly peerCount: number;
  private readonly prefixCount: number;
  private readonly maxSites: number;
  private readonly prefixes: readonly Prefix[];
  private readonly serviceFirstPrefix: Uint16Array;
  private readonly servicePrefixCount: Uint16Array;
  private readonly peerNames: readonly string[];
  /** Per peer, prefix and slot: the path identifier and the site (NO_SITE: free). */
  private readonly pathId: Uint32Array;
  private readonly site: Int32Array;
  /** Per peer and prefix: a route (either way) came since the session came up. */
  private readonly heard: Uint8Array;
  /** Per peer: End-of-RIB came since the session came up. */
  private readonly endOfRibSeen: Uint8Array;
  /** Per peer: its notice about ADD-PATH was given. */
  private readonly addPathNoticed: Uint8Array;
  /**
   * Per peer: the families its session carries (0: not Established). Kept with IPV6 only: without
   * an IPv6 prefix every session carries IPv4 and nothing is unseen (all zero, and a board's build
   * drops the array where nothing reads it).
   */
  private readonly peerFamilies: Uint8Array;
  /** The families (Family bits) whose notice that no session carries them was given (IPV6). */
  private unseenNoticed: number;
  /** Per prefix: distinct other sites announcing it normally, or -1 when to be counted again. */
  private readonly counts: Int32Array;
  private readonly scratch: Int32Array;
  private overflowNoticed: boolean;
  private readonly siteAsn: number;
  private readonly ownSite: number;
  private readonly lastResort: number;
  /** The origin ASes a site's route may have: `fleet.siteAs`, or else our own AS. */
  private readonly siteAs: number[];
  /** The peer whose routes are being read, and the site of the UPDATE's attributes. */
  private peer: number;
  private currentSite: number;

  constructor(options: FleetTableOptions) {
    const fleet = options.fleet;
    this.peerCount = options.peerNames.length;
    this.prefixCount = options.prefixes.length;
    this.maxSites = fleet.maxSites;
    assert(this.peerCount > 0 && this.prefixCount > 0 && this.maxSites > 0, 'a table to size');
    this.prefixes = options.prefixes;
    this.serviceFirstPrefix = options.serviceFirstPrefix;
    this.servicePrefixCount = options.servicePrefixCount;
    this.peerNames = options.peerNames;
    const slots = this.peerCount * this.prefixCount * this.maxSites;
    this.pathId = new Uint32Array(slots);
    this.site = new Int32Array(slots).fill(NO_SITE);
    this.heard = new Uint8Array(this.peerCount * this.prefixCount);
    this.endOfRibSeen = new Uint8Array(this.peerCount);
    this.addPathNoticed = new Uint8Array(this.peerCount);
    this.peerFamilies = new Uint8Array(this.peerCount);
    this.unseenNoticed = 0;
    this.counts = new Int32Array(this.prefixCount);
    this.scratch = new Int32Array(this.peerCount * this.maxSites);
    this.notices = [];
    this.overflows = 0;
    this.foreignRoutes = 0;
    this.overflowNoticed = false;
    this.siteAsn = Math.floor(fleet.siteCommunityValue / 65536);
    this.ownSite = fleet.siteCommunityValue;
    this.lastResort = fleet.lastResortCommunityValue;
    this.siteAs = fleet.siteAs.length > 0 ? fleet.siteAs.slice() : [options.localAs];
    this.peer = 0;
    this.currentSite = NO_SITE;
  }

  /** A session came up: its peer starts with nothing, and carries `session.families`. */
  sessionUp(peer: number, session: FleetSession): void {
    this.clear(peer);
    if ((session.addPath & session.families) !== session.families) this.noticeNoAddPath(peer);
    if (IPV6) {
      this.peerFamilies[peer] = session.families;
      this.noticeUnseen();
    }
  }

  /**
   * The ExaBGP view, without `fleet.siteAs`: `as`, the local AS of a neighbour that came up, is
   * the fleet's too.
   */
  addLocalAs(as: number): void {
    if (this.siteAs.indexOf(as) < 0) this.siteAs.push(as);
  }

  /** The families (Family bits) that Established sessions carry. */
  private carried(): number {
    let families = 0;
    for (let peer = 0; peer < this.peerCount; peer++) families |= this.peerFamilies[peer]!;
    return families;
  }

  /** Prefix `i` is of a family an Established session carries (all are without IPv6). */
  private seen(i: number, families: number): boolean {
    if (!IPV6) return true;
    return (families & (this.prefixes[i]!.family === 4 ? Family.Ipv4 : Family.Ipv6)) !== 0;
  }

  /** The families of `service`'s prefixes that no Established session carries, while one is up. */
  unseen(service: number): number {
    const carried = this.carried();
    const start = this.serviceFirstPrefix[service]!;
    let families = 0;
    for (let i = start; i < start + this.servicePrefixCount[service]!; i++)
      if (carried !== 0 && !this.seen(i, carried)) families |= (this.prefixes[i]!.family >> 1) - 1;
    return families;
  }

  /** Says once per family that no session carries it while one is up: its prefixes not counted. */
  private noticeUnseen(): void {
    const carried = this.carried();
    for (let i = 0; i < this.prefixCount && carried !== 0; i++) {
      // Family.Ipv4 (1) or Family.Ipv6 (2) from the prefix's 4 or 6.
      const family = (this.prefixes[i]!.family >> 1) - 1;
      if (this.seen(i, carried) || (this.unseenNoticed & family) !== 0) continue;
      this.unseenNoticed |= family;
      this.notices.push(
        'fleet family=ipv' +
          this.prefixes[i]!.family +
          ' seen=no: no session carries it, so its prefixes are not counted',
      );
    }
  }

  /** Says once per peer that it sends no path identifiers, so at most one other site is seen. */
  noticeNoAddPath(peer: number): void {
    if (this.addPathNoticed[peer] === 1) return;
    this.addPathNoticed[peer] = 1;
    this.notices.push(
      'fleet peer=' + this.peerNames[peer] + ' add-path=no: sees at most one other site',
    );
  }

  /** The session went down: what it said no longer holds. */
  sessionDown(peer: number): void {
    this.clear(peer);
    if (IPV6) {
      this.peerFamilies[peer] = 0;
      this.noticeUnseen();
    }
  }

  private clear(peer: number): void {
    assert(peer >= 0 && peer < this.peerCount, 'a configured peer');
    const perPeer = this.prefixCount * this.maxSites;
    this.site.fill(NO_SITE, peer * perPeer, (peer + 1) * perPeer);
    this.heard.fill(0, peer * this.prefixCount, (peer + 1) * this.prefixCount);
    this.endOfRibSeen[peer] = 0;
    this.counts.fill(-1);
  }

  /** The routes that follow are `peer`'s. */
  select(peer: number): void {
    assert(peer >= 0 && peer < this.peerCount, 'a configured peer');
    this.peer = peer;
  }

  attributes(bytes: Uint8Array, at: number, length: number, originAs: number): void {
    this.currentSite = NO_SITE;
    // Not a site's route: one the router made up, or one that leaked in from another AS.
    if (this.siteAs.indexOf(originAs) < 0) return;
    let site = NO_SITE;
    let ours = false;
    for (let i = at; i + 4 <= at + length; i += 4) {
      const value = long(bytes, i);
      if (value === this.lastResort) {
        this.currentSite = NO_SITE;
        return;
      }
      if (value === this.ownSite) ours = true;
      else if (site === NO_SITE && Math.floor(value / 65536) === this.siteAsn)
        site = value & 0xffff;
    }
    // Our own routes, sent back (FRR does with addpath-tx-all-paths), are not another site.
    this.currentSite = ours ? NO_SITE : site;
  }

  /** The configured prefix `bits` long at `bytes[at]` of `family`, or -1. */
  private prefixIndex(family: number, bytes: Uint8Array, at: number, bits: number): number {
    for (let i = 0; i < this.prefixCount; i++) {
      const prefix = this.prefixes[i]!;
      if (prefix.family !== family || prefix.length !== bits) continue;
      let same = true;
      for (let b = 0; b < (bits + 7) >> 3 && same; b++) same = prefix.bytes[b] === bytes[at + b];
      if (same) return i;
    }
    return -1;
  }

  route(
    family: number,
    bytes: Uint8Array,
    at: number,
    bits: number,
    pathId: number,
    announced: boolean,
  ): void {
    const prefix = this.prefixIndex(family, bytes, at, bits);
    if (prefix < 0) {
      this.foreignRoutes++;
      return;
    }
    this.heard[this.peer * this.prefixCount + prefix] = 1;
    this.counts[prefix] = -1;
    const base = (this.peer * this.prefixCount + prefix) * this.maxSites;
    let found = -1;
    let free = -1;
    for (let slot = base; slot < base + this.maxSites; slot++) {
      if (this.site[slot] === NO_SITE) {
        if (free < 0) free = slot;
      } else if (this.pathId[slot] === pathId) {
        found = slot;
      }
    }
    // A route that does not announce normally replaces (RFC 7911: the same path identifier) a
    // normal one as a withdrawal would.
    const site = announced ? this.currentSite : NO_SITE;
    if (found >= 0) {
      this.site[found] = site;
      return;
    }
    if (site === NO_SITE) return;
    if (free < 0) return this.overflow(prefix);
    this.site[free] = site;
    this.pathId[free] = pathId;
  }

  private overflow(prefix: number): void {
    this.overflows++;
    if (this.overflowNoticed) return;
    this.overflowNoticed = true;
    this.notices.push(
      'fleet peer=' +
        this.peerNames[this.peer] +
        ' prefix=' +
        this.prefixes[prefix]!.text +
        ' overflow maxSites=' +
        this.maxSites,
    );
  }

  endOfRibReceived(): void {
    this.endOfRibSeen[this.peer] = 1;
  }

  known(service: number): boolean {
    const start = this.serviceFirstPrefix[service]!;
    const end = start + this.servicePrefixCount[service]!;
    for (let peer = 0; peer < this.peerCount; peer++) {
      if (!this.carries(peer, start, end)) continue;
      if (this.endOfRibSeen[peer] === 1) return true;
      for (let i = start; i < end; i++)
        if (this.heard[peer * this.prefixCount + i] === 1) return true;
    }
    return false;
  }

  /** `peer`'s session carries the family of a prefix in [start, end) (all, without IPv6). */
  private carries(peer: number, start: number, end: number): boolean {
    if (!IPV6) return true;
    for (let i = start; i < end; i++) if (this.seen(i, this.peerFamilies[peer]!)) return true;
    return false;
  }

  healthyOthers(service: number): number {
    const start = this.serviceFirstPrefix[service]!;
    const end = start + this.servicePrefixCount[service]!;
    const carried = IPV6 ? this.carried() : 0;
    let least = -1;
    for (let i = start; i < end; i++) {
      // A prefix of a family no session carries has no view: it would count 0 for ever.
      if (!this.seen(i, carried)) continue;
      const count = this.count(i);
      if (least < 0 || count < least) least = count;
    }
    return least < 0 ? 0 : least;
  }

  /** Distinct sites announcing prefix `i` normally over every peer (cached until it changes). */
  private count(i: number): number {
    if (this.counts[i]! >= 0) return this.counts[i]!;
    let distinct = 0;
    for (let peer = 0; peer < this.peerCount; peer++) {
      const base = (peer * this.prefixCount + i) * this.maxSites;
      for (let slot = base; slot < base + this.maxSites; slot++) {
        const site = this.site[slot]!;
        if (site === NO_SITE) continue;
        let seen = false;
        for (let k = 0; k < distinct && !seen; k++) seen = this.scratch[k] === site;
        if (!seen) this.scratch[distinct++] = site;
      }
    }
    // No more other sites than the fleet can have, whatever the sessions say.
    if (distinct > this.maxSites) distinct = this.maxSites;
    this.counts[i] = distinct;
    return distinct;
  }
}

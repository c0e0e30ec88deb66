// The fleet view with the ExaBGP announcer (issue 12): ExaBGP, configured to pass received UPDATEs
// and neighbour changes to its API process as JSON (`api { processes [ lifeline ]; encoder json;
// receive { parsed; update; } neighbor-changes; }`), writes them on Lifeline's stdin; this reads
// them, line by line, into the same fleet table the built-in speaker fills (firmware/fleet.ts).
// Node only (JSON per UPDATE: it allocates); ADD-PATH is ExaBGP's to negotiate (`capability {
// add-path receive; }` in its neighbour), and its path identifiers arrive as `path-information`.
// The families a neighbour's session carries come from ExaBGP's `negotiated` message (`api {
// negotiated; }`), before its `up`; without it both are taken as carried. A route's origin AS is
// the last of its `as-path`, and the neighbour's `asn` gives the peer's and our own AS.

import { ExaBgpAnnouncer } from '../firmware/announcer';
import { parsePrefix, type Prefix } from '../firmware/address';
import type { Config } from '../firmware/config';
import { FAMILY_IPV4, FAMILY_IPV6, ORIGIN_NONE, ORIGIN_PEER } from '../firmware/bgp/codec';
import { FleetTable, type FleetView } from '../firmware/fleet';
import type { Hal } from '../firmware/hal';

/** ExaBGP neighbours the table has room for (each named on first sight). */
export const EXABGP_PEERS_MAX = 8;
/** The longest line read (a full table's UPDATE is far shorter); longer ones are dropped. */
const LINE_CHARACTERS_MAX = 1 << 20;

type Json = { [key: string]: unknown };

export class ExaBgpFleet {
  readonly table: FleetTable;
  /** Lines that were not an ExaBGP message Lifeline understands (acknowledgements are skipped). */
  unreadable: number;
  private readonly peerNames: string[];
  /** Per neighbour, the families of its last `negotiated` message (both until one came). */
  private readonly families: number[];
  /** Per neighbour, its AS (the origin of an empty AS_PATH). */
  private readonly peerAs: number[];
  private readonly siteAs: readonly number[];
  private pending: string;
  private readonly scratch: Uint8Array;

  constructor(config: Config) {
    if (config.fleet === null) throw new Error('ExaBgpFleet needs a fleet section');
    const prefixes: Prefix[] = [];
    const serviceFirstPrefix = new Uint16Array(config.services.length);
    const servicePrefixCount = new Uint16Array(config.services.length);
    config.services.forEach((service, s) => {
      serviceFirstPrefix[s] = prefixes.length;
      servicePrefixCount[s] = service.prefixes.length;
      prefixes.push(...service.prefixes);
    });
    this.peerNames = [];
    this.families = [];
    this.peerAs = [];
    this.siteAs = config.fleet.siteAs;
    for (let i = 0; i < EXABGP_PEERS_MAX; i++) {
      this.peerNames.push('-');
      this.families.push(FAMILY_IPV4 | FAMILY_IPV6);
      this.peerAs.push(0);
    }
    this.table = new FleetTable({
      fleet: config.fleet,
      prefixes,
      serviceFirstPrefix,
      servicePrefixCount,
      peerNames: this.peerNames,
      // Each neighbour's local AS is added as it comes up (`addLocalAs`).
      localAs: 0,
    });
    this.unreadable = 0;
    this.pending = '';
    this.scratch = new Uint8Array(4 * 256);
  }

  /** Bytes from stdin: every whole line is read. */
  received(chunk: string): void {
    this.pending += chunk;
    let end = this.pending.indexOf('\n');
    while (end >= 0) {
      this.line(this.pending.slice(0, end));
      this.pending = this.pending.slice(end + 1);
      end = this.pending.indexOf('\n');
    }
    if (this.pending.length > LINE_CHARACTERS_MAX) this.pending = '';
  }

  /** The table's index of the neighbour `address`, named on first sight; -1 when full. */
  private peer(address: string): number {
    let free = -1;
    for (let i = 0; i < this.peerNames.length; i++) {
      if (this.peerNames[i] === address) return i;
      if (free < 0 && this.peerNames[i] === '-') free = i;
    }
    if (free >= 0) this.peerNames[free] = address;
    return free;
  }

  /** One line from ExaBGP. Whatever it holds, nothing throws out of here. */
  line(text: string): void {
    if (!text.startsWith('{')) return; // `done`, `error`: answers to our own commands
    try {
      const message = JSON.parse(text) as Json;
      const neighbor = message['neighbor'] as Json;
      const address = ((neighbor['address'] as Json)['peer'] as string) ?? '';
      const peer = this.peer(address);
      if (peer < 0) return;
      if (message['type'] === 'negotiated')
        return this.negotiated(peer, neighbor['negotiated'] as Json);
      if (message['type'] === 'state') return this.state(peer, neighbor);
      if (message['type'] === 'update' && neighbor['direction'] === 'receive')
        return this.update(peer, neighbor['message'] as Json);
    } catch {
      this.unreadable++;
    }
  }

  /** The families the session about to come up carries ("ipv4 unicast", "ipv6 unicast"). */
  private negotiated(peer: number, negotiated: Json): void {
    const families = negotiated['families'] as unknown[];
    if (!Array.isArray(families)) throw new Error('negotiated without families');
    this.families[peer] =
      (families.includes('ipv4 unicast') ? FAMILY_IPV4 : 0) |
      (families.includes('ipv6 unicast') ? FAMILY_IPV6 : 0);
  }

  private state(peer: number, neighbor: Json): void {
    // A peer's routes hold from `up` to the next `down` (or `connected`, a new session).
    const state = neighbor['state'];
    if (state === 'up') {
      const asn = (neighbor['asn'] ?? {}) as Json;
      this.peerAs[peer] = Number(asn['peer']);
      if (this.siteAs.length === 0) this.table.addLocalAs(Number(asn['local']));
      const families = this.families[peer]!;
      // Whether paths come with identifiers shows in each announcement (noticed there).
      this.table.sessionUp(peer, { families, addPath: families });
    } else if (state === 'down' || state === 'connected') {
      this.table.sessionDown(peer);
    }
  }

  private update(peer: number, message: Json): void {
    this.table.select(peer);
    if (message['eor'] !== undefined) return this.table.endOfRibReceived();
    const update = message['update'] as Json;
    const attribute = (update['attribute'] ?? {}) as Json;
    const communities = (attribute['community'] ?? []) as [number, number][];
    let length = 0;
    for (const [high, low] of communities.slice(0, this.scratch.length / 4)) {
      const value = ((high & 0xffff) * 65536 + (low & 0xffff)) >>> 0;
      for (let b = 3; b >= 0; b--) this.scratch[length++] = (value >>> (8 * b)) & 0xff;
    }
    const origin = originOf(attribute);
    this.table.attributes(
      this.scratch,
      0,
      length,
      origin === ORIGIN_PEER ? this.peerAs[peer]! : origin,
    );
    const withdraw = (update['withdraw'] ?? {}) as Json;
    for (const family of Object.keys(withdraw))
      this.routes(peer, family, withdraw[family] as unknown[], false);
    const announce = (update['announce'] ?? {}) as Json;
    for (const family of Object.keys(announce)) {
      const byNextHop = announce[family] as Json;
      for (const nextHop of Object.keys(byNextHop))
        this.routes(peer, family, byNextHop[nextHop] as unknown[], true);
    }
  }

  /** `nlris` of `family` ("ipv4 unicast", "ipv6 unicast"; others ignored) to the table. */
  private routes(peer: number, family: string, nlris: unknown[], announced: boolean): void {
    if (family !== 'ipv4 unicast' && family !== 'ipv6 unicast') return;
    for (const entry of nlris) {
      const text = typeof entry === 'string' ? entry : ((entry as Json)['nlri'] as string);
      const pathInformation =
        typeof entry === 'string' ? undefined : (entry as Json)['path-information'];
      const prefix = parsePrefix(text);
      if (typeof prefix === 'string') {
        this.unreadable++;
        continue;
      }
      if (announced && pathInformation === undefined) this.table.noticeNoAddPath(peer);
      const pathId = typeof pathInformation === 'string' ? dottedQuad(pathInformation) : 0;
      this.table.route(prefix.family, prefix.bytes, 0, prefix.length, pathId, announced);
    }
  }
}

/**
 * The origin AS of a route's attributes (firmware/bgp/codec.ts `originAs`): ExaBGP writes an
 * AS_PATH's sequences as `as-path` and its sets as `as-set`.
 */
function originOf(attribute: Json): number {
  const set = attribute['as-set'];
  if (Array.isArray(set) && set.length > 0) return ORIGIN_NONE;
  const path = attribute['as-path'];
  if (!Array.isArray(path) || path.length === 0) return ORIGIN_PEER;
  const last = path[path.length - 1];
  return typeof last === 'number' && last > 0 ? last : ORIGIN_NONE;
}

/** `0.0.0.1` as 1 (ExaBGP writes path identifiers as dotted quads). */
function dottedQuad(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !(part >= 0 && part <= 255))) return 0;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The ExaBGP announcer with the fleet view read from ExaBGP's messages. */
export class ExaBgpFleetAnnouncer extends ExaBgpAnnouncer {
  constructor(
    config: Config,
    hal: Hal,
    readonly fleet: FleetView,
  ) {
    super(config, hal);
  }
}

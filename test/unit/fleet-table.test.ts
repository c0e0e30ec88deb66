// The fleet table's input (issue 12): the ADD-PATH capability, path identifiers in IPv4 NLRI and
// in MP_REACH/MP_UNREACH for IPv6, COMMUNITIES, malformed UPDATEs; the table itself (fill,
// replace and withdraw by path identifier, overflow, session drop); and the speaker negotiating
// and reading it all over a session on the sim HAL.

import { describe, expect, it } from 'vitest';

import { parsePrefix, type Prefix } from '../../firmware/address';
import { type Config } from '../../firmware/config';
import { readConfig } from '../../config/validate';
import {
  BgpError,
  checkUpdate,
  encodeAnnounce,
  encodeKeepalive,
  encodeOpen,
  FAMILY_IPV4,
  FAMILY_IPV6,
  OpenInfo,
  ORIGIN_NONE,
  ORIGIN_PEER,
  originAs,
  parseOpen,
  readRoutes,
  UpdateVerdict,
  type RouteSink,
} from '../../firmware/bgp/codec';
import { SessionState } from '../../firmware/bgp/session';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { FleetTable } from '../../firmware/fleet';
import { Lifeline } from '../../firmware/lifeline';
import { Behaviour, SimHal } from '../../hal/sim/index';
import { document, fuzzRuns } from '../helpers';
import { addPathPeerOpen, update, type Route } from '../support/updates';

const SITE_ASN = 65010;
const community = (value: number): number => SITE_ASN * 65536 + value;
const OURS = community(1);
const LAST_RESORT = community(666);

/** A sink that writes down what `readRoutes` hands it. */
class Recorder implements RouteSink {
  events: string[] = [];
  attributes(bytes: Uint8Array, at: number, length: number, originAs: number): void {
    const communities = Buffer.from(bytes.subarray(at, at + length)).toString('hex');
    this.events.push('communities ' + communities + ' origin=' + originAs);
  }
  route(family: number, bytes: Uint8Array, at: number, bits: number, pathId: number, up: boolean) {
    const value = Buffer.from(bytes.subarray(at, at + ((bits + 7) >> 3))).toString('hex');
    this.events.push((up ? '+' : '-') + family + ' ' + value + '/' + bits + ' id=' + pathId);
  }
  endOfRibReceived(): void {
    this.events.push('end-of-rib');
  }
}

function fleetConfig(maxSites = 4, siteAs?: number[]): Config {
  const doc = document() as Record<string, any>;
  doc['fleet'] = { siteCommunity: '65010:1', lastResortCommunity: '65010:666', maxSites };
  if (siteAs !== undefined) doc['fleet'].siteAs = siteAs;
  doc['announcer'] = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [
      { address: '127.0.12.2', port: 1179, remoteAs: 65000, nextHopV4: '192.0.2.10' },
      { address: '127.0.12.3', port: 1179, remoteAs: 65000, nextHopV4: '192.0.2.10' },
    ].map((peer) => ({ ...peer, nextHopV6: '2001:db8::10' })),
  };
  const result = readConfig(doc);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  return result.config;
}

function table(maxSites = 4): FleetTable {
  const config = fleetConfig(maxSites);
  return new FleetTable({
    fleet: config.fleet!,
    prefixes: config.services[0]!.prefixes,
    serviceFirstPrefix: new Uint16Array([0]),
    servicePrefixCount: new Uint16Array([2]),
    peerNames: ['127.0.12.2', '127.0.12.3'],
    localAs: 65010,
  });
}

/** Feeds `message` from `peer` (AS `peerAs`) into `fleet` as the speaker does. */
function feed(fleet: FleetTable, peer: number, message: Uint8Array, addPath = 3, peerAs = 65000) {
  const error = new BgpError();
  const verdict = checkUpdate(
    message,
    0,
    message.length,
    { as4: true, internal: false, addPath },
    error,
  );
  expect(verdict).not.toBe(UpdateVerdict.SessionReset);
  fleet.select(peer);
  const malformed = verdict === UpdateVerdict.TreatAsWithdraw;
  return readRoutes(message, 0, message.length, { addPath, as4: true, peerAs }, malformed, fleet);
}

/** A session as the speaker reports it: both families, ADD-PATH. */
const SESSION = { families: 3, addPath: 3 };
/** An UPDATE's session: ADD-PATH for both families, 4-octet AS numbers, the peer's AS 65000. */
const FROM = { addPath: 3, as4: true, peerAs: 65000 };

const BOTH = (pathId: number): Route[] => [
  { prefix: '192.0.2.53/32', pathId },
  { prefix: '2001:db8:53::/48', pathId },
];

describe('ADD-PATH and received routes (codec)', () => {
  it('offers ADD-PATH receive for the families announced, and reads what the peer will send', () => {
    const scratch = new Uint8Array(128);
    const options = {
      localAs: 65010,
      holdTimeS: 90,
      routerId: new Uint8Array([192, 0, 2, 10]),
      families: FAMILY_IPV4 | FAMILY_IPV6,
    };
    const plain = Buffer.from(scratch.subarray(0, encodeOpen(scratch, 0, options))).toString('hex');
    const length = encodeOpen(scratch, 0, {
      ...options,
      addPathReceive: FAMILY_IPV4 | FAMILY_IPV6,
    });
    const withAddPath = Buffer.from(scratch.subarray(0, length)).toString('hex');
    // RFC 7911 4: code 69, length 8, (AFI 1, SAFI 1, receive) and (AFI 2, SAFI 1, receive).
    expect(withAddPath.endsWith('450800010101' + '00020101')).toBe(true);
    expect(withAddPath.length - plain.length).toBe(2 * 10);
    expect(plain).not.toContain('4508');
    // Only the families announced are offered.
    const v4only = encodeOpen(scratch, 0, { ...options, families: FAMILY_IPV4, addPathReceive: 3 });
    expect(Buffer.from(scratch.subarray(0, v4only)).toString('hex').endsWith('450400010101')).toBe(
      true,
    );
    // A peer's OPEN: send (2) for IPv4, both (3) for IPv6, receive only (1) sends nothing.
    for (const [values, expected] of [
      [[2, 3], FAMILY_IPV4 | FAMILY_IPV6],
      [[1, 3], FAMILY_IPV6],
      [[1, 1], 0],
    ] as [number[], number][]) {
      const open = encodeOpen(scratch, 0, { ...options, addPathReceive: 3 });
      scratch[open - 5] = values[0]!;
      scratch[open - 1] = values[1]!;
      const info = new OpenInfo();
      expect(parseOpen(scratch, 0, open, info, new BgpError())).toBe(true);
      expect(info.addPathSend).toBe(expected);
    }
  });

  it('decodes path identifiers in IPv4 NLRI and withdrawn routes, and in MP_REACH/MP_UNREACH', () => {
    const recorder = new Recorder();
    const message = update({
      announce: [
        { prefix: '192.0.2.53/32', pathId: 7 },
        { prefix: '2001:db8:53::/48', pathId: 0x01020304 },
      ],
      communities: [community(2), 0xffff0000],
    });
    expect(readRoutes(message, 0, message.length, FROM, false, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities fdf20002ffff0000 origin=65010',
      '+6 20010db80053/48 id=16909060',
      '+4 c0000235/32 id=7',
    ]);
    const gone = update({ withdraw: [{ prefix: '10.0.0.0/8', pathId: 9 }, ...BOTH(3)] });
    recorder.events = [];
    expect(readRoutes(gone, 0, gone.length, FROM, false, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities  origin=65000',
      '-4 0a/8 id=9',
      '-4 c0000235/32 id=3',
      '-6 20010db80053/48 id=3',
    ]);
    // Without ADD-PATH the same prefixes have no identifiers (0).
    const plain = update({ announce: BOTH(0), communities: [community(2)], addPath: false });
    recorder.events = [];
    expect(
      readRoutes(plain, 0, plain.length, { addPath: 0, as4: true, peerAs: 65000 }, false, recorder),
    ).toBe(true);
    expect(recorder.events.slice(1)).toEqual(['+6 20010db80053/48 id=0', '+4 c0000235/32 id=0']);
  });

  it('sees End-of-RIB, treats malformed attributes as withdraw and refuses malformed NLRI', () => {
    const recorder = new Recorder();
    const empty = update({});
    expect(readRoutes(empty, 0, empty.length, FROM, false, recorder)).toBe(true);
    expect(recorder.events).toEqual(['communities  origin=65000', 'end-of-rib']);
    const bad = update({ announce: BOTH(5), communities: [community(2)], badOrigin: true });
    expect(
      checkUpdate(bad, 0, bad.length, { as4: true, internal: false, addPath: 3 }, new BgpError()),
    ).toBe(UpdateVerdict.TreatAsWithdraw);
    recorder.events = [];
    expect(readRoutes(bad, 0, bad.length, FROM, true, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities  origin=65010',
      '-6 20010db80053/48 id=5',
      '-4 c0000235/32 id=5',
    ]);
    // A path identifier the peer did not negotiate breaks the NLRI: the session resets.
    const withIds = update({ announce: [{ prefix: '192.0.2.53/32', pathId: 0x20000000 }] });
    expect(
      checkUpdate(
        withIds,
        0,
        withIds.length,
        { as4: true, internal: false, addPath: 0 },
        new BgpError(),
      ),
    ).toBe(UpdateVerdict.SessionReset);
    // An IPv6 prefix longer than 128 bits in MP_REACH: nothing is handed on.
    const longV6 = update({ announce: [{ prefix: '2001:db8:53::/48', pathId: 1 }] });
    longV6[longV6.length - 7] = 129;
    recorder.events = [];
    expect(readRoutes(longV6, 0, longV6.length, FROM, false, recorder)).toBe(false);
    expect(recorder.events).toEqual([]);
  });
});

describe('fleet table', () => {
  it('counts distinct other sites announcing normally, the least over a service prefixes', () => {
    const fleet = table();
    expect(fleet.known(0)).toBe(false);
    expect(fleet.healthyOthers(0)).toBe(0);
    fleet.sessionUp(0, SESSION);
    expect(fleet.known(0)).toBe(false);
    feed(fleet, 0, update({ announce: BOTH(1), communities: [community(2)] }));
    expect(fleet.known(0)).toBe(true);
    expect(fleet.healthyOthers(0)).toBe(1);
    feed(fleet, 0, update({ announce: BOTH(2), communities: [0xffff0000, community(3)] }));
    // Site 3 only on the IPv4 prefix: the service counts the least.
    feed(
      fleet,
      0,
      update({ announce: [{ prefix: '192.0.2.53/32', pathId: 3 }], communities: [community(4)] }),
    );
    expect(fleet.healthyOthers(0)).toBe(2);
    // The same site through another path, or through another peer, is one site.
    fleet.sessionUp(1, SESSION);
    feed(fleet, 1, update({ announce: BOTH(9), communities: [community(2)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
    // Ours (reflected), last resort, no site community, another ASN: not counted.
    feed(fleet, 1, update({ announce: BOTH(10), communities: [OURS] }));
    feed(fleet, 1, update({ announce: BOTH(11), communities: [community(5), LAST_RESORT] }));
    feed(fleet, 1, update({ announce: BOTH(12), communities: [] }));
    feed(fleet, 1, update({ announce: BOTH(13), communities: [65011 * 65536 + 6] }));
    expect(fleet.healthyOthers(0)).toBe(2);
    // Not our prefixes: counted as foreign, ignored.
    feed(
      fleet,
      1,
      update({ announce: [{ prefix: '198.51.100.0/24', pathId: 1 }], communities: [community(7)] }),
    );
    expect(fleet.foreignRoutes).toBe(1);
  });

  it('replaces and withdraws by path identifier, and forgets a peer whose session drops', () => {
    const fleet = table();
    fleet.sessionUp(0, SESSION);
    feed(fleet, 0, update({ announce: BOTH(1), communities: [community(2)] }));
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
    // Path 2 is replaced: site 3 now holds as last resort.
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3), LAST_RESORT] }));
    expect(fleet.healthyOthers(0)).toBe(1);
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
    feed(fleet, 0, update({ withdraw: BOTH(1) }));
    expect(fleet.healthyOthers(0)).toBe(1);
    // Malformed attributes withdraw path 2 too (RFC 7606).
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3)], badOrigin: true }));
    expect(fleet.healthyOthers(0)).toBe(0);
    expect(fleet.known(0)).toBe(true);
    feed(fleet, 0, update({ announce: BOTH(4), communities: [community(8)] }));
    fleet.sessionDown(0);
    expect(fleet.healthyOthers(0)).toBe(0);
    expect(fleet.known(0)).toBe(false);
    // End-of-RIB alone makes the view known (the router has nothing for us).
    fleet.sessionUp(0, SESSION);
    feed(fleet, 0, update({}));
    expect(fleet.known(0)).toBe(true);
  });

  it('holds maxSites routes per prefix and peer; the rest are counted and noticed once', () => {
    const fleet = table(2);
    fleet.sessionUp(0, SESSION);
    for (let site = 2; site < 6; site++)
      feed(fleet, 0, update({ announce: BOTH(site), communities: [community(site)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
    expect(fleet.overflows).toBe(4);
    expect(fleet.notices).toEqual([
      'fleet peer=127.0.12.2 prefix=2001:db8:53::/48 overflow maxSites=2',
    ]);
    // A withdrawal frees a slot.
    feed(fleet, 0, update({ withdraw: BOTH(2) }));
    feed(fleet, 0, update({ announce: BOTH(5), communities: [community(5)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
  });

  it('notices once per peer a session without ADD-PATH', () => {
    const fleet = table();
    fleet.sessionUp(1, { ...SESSION, addPath: 0 });
    fleet.sessionDown(1);
    fleet.sessionUp(1, { ...SESSION, addPath: 0 });
    fleet.sessionUp(0, SESSION);
    expect(fleet.notices).toEqual([
      'fleet peer=127.0.12.3 add-path=no: sees at most one other site',
    ]);
  });
});

describe('origin AS (codec)', () => {
  /** `originAs` of an AS_PATH value of `segments` ([type, ...ASes]) in `asBytes`-octet numbers. */
  const origin = (segments: number[][], asBytes = 4): number => {
    const bytes: number[] = [];
    for (const [kind, ...asns] of segments) {
      bytes.push(kind!, asns.length);
      for (const as of asns)
        for (let b = asBytes - 1; b >= 0; b--) bytes.push(Math.floor(as / 256 ** b) % 256);
    }
    return originAs(new Uint8Array(bytes), 0, bytes.length, asBytes);
  };

  it('is the last AS of an AS_SEQUENCE, none after an AS_SET, the peer for an empty path', () => {
    expect(origin([[2, 65000, 4200000001]])).toBe(4200000001);
    expect(
      origin([
        [2, 65000],
        [2, 65010],
      ]),
    ).toBe(65010);
    expect(
      origin([
        [2, 65000, 65010],
        [1, 65010, 65020],
      ]),
    ).toBe(ORIGIN_NONE);
    expect(origin([])).toBe(ORIGIN_PEER);
    // Confederation segments are the peer's own (RFC 6811 2): alone, the peer's AS.
    expect(origin([[3, 64512]])).toBe(ORIGIN_PEER);
    expect(
      origin([
        [3, 64512],
        [2, 65010],
      ]),
    ).toBe(65010);
    expect(origin([[2, 65000, 65010]], 2)).toBe(65010);
  });

  it('hands the sink the origin; on a 2-octet session AS4_PATH for an AS_TRANS origin', () => {
    const recorder = new Recorder();
    const message = update({ announce: BOTH(1), communities: [community(2)], asPath: [65000] });
    readRoutes(message, 0, message.length, FROM, false, recorder);
    expect(recorder.events[0]).toBe('communities fdf20002 origin=65000');
    // A 2-octet session: AS_PATH [65000 AS_TRANS] and AS4_PATH [65000 4200000001].
    const two = update({
      announce: [{ prefix: '192.0.2.53/32' }],
      addPath: false,
      asPath: [65000, 4200000001],
      twoOctet: true,
    });
    expect(
      checkUpdate(two, 0, two.length, { as4: false, internal: false, addPath: 0 }, new BgpError()),
    ).toBe(UpdateVerdict.Valid);
    recorder.events = [];
    expect(
      readRoutes(two, 0, two.length, { addPath: 0, as4: false, peerAs: 65000 }, false, recorder),
    ).toBe(true);
    expect(recorder.events).toEqual(['communities  origin=4200000001', '+4 c0000235/32 id=0']);
    const small = update({
      announce: [{ prefix: '192.0.2.53/32' }],
      addPath: false,
      twoOctet: true,
    });
    recorder.events = [];
    readRoutes(small, 0, small.length, { addPath: 0, as4: false, peerAs: 65000 }, false, recorder);
    expect(recorder.events[0]).toBe('communities  origin=65010');
  });
});

describe('fleet table: what a path must be to count as a site (trust)', () => {
  it("counts a path only when its origin AS is the fleet's, it is not ours, and at most maxSites", () => {
    const fleet = table(8);
    fleet.sessionUp(0, SESSION);
    // One session inventing three sites: paths the router originated itself (its AS last, or an
    // empty path: its own), and a leak from elsewhere with the site community.
    feed(fleet, 0, update({ announce: BOTH(1), communities: [community(2)], asPath: [65000] }));
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3)], asPath: [] }));
    feed(
      fleet,
      0,
      update({ announce: BOTH(3), communities: [community(4)], asPath: [65000, 64999] }),
    );
    // An AS_SET at the end names no origin.
    feed(
      fleet,
      0,
      update({ announce: BOTH(4), communities: [community(5)], asPath: [65000], asSet: [65010] }),
    );
    expect(fleet.known(0)).toBe(true);
    expect(fleet.healthyOthers(0)).toBe(0);
    // Our own path sent back (FRR does) is not another site either.
    feed(fleet, 0, update({ announce: BOTH(5), communities: [OURS] }));
    expect(fleet.healthyOthers(0)).toBe(0);
    // A path a site of our AS originated is one; it replaces the made-up path 1.
    feed(fleet, 0, update({ announce: BOTH(1), communities: [community(2)] }));
    expect(fleet.healthyOthers(0)).toBe(1);
  });

  it("takes the origin ASes from fleet.siteAs when set, and an empty path as the peer's AS", () => {
    const config = fleetConfig(8, [65010, 65020]);
    const fleet = new FleetTable({
      fleet: config.fleet!,
      prefixes: config.services[0]!.prefixes,
      serviceFirstPrefix: new Uint16Array([0]),
      servicePrefixCount: new Uint16Array([2]),
      peerNames: ['127.0.12.2', '127.0.12.3'],
      localAs: 65010,
    });
    fleet.sessionUp(0, SESSION);
    feed(fleet, 0, update({ announce: BOTH(1), communities: [community(2)], asPath: [65020] }));
    feed(fleet, 0, update({ announce: BOTH(2), communities: [community(3)], asPath: [65030] }));
    expect(fleet.healthyOthers(0)).toBe(1);
    // iBGP with a route reflector in the sites' AS: the sites' paths have an empty AS_PATH.
    fleet.sessionUp(1, SESSION);
    feed(
      fleet,
      1,
      update({ announce: BOTH(3), communities: [community(4)], asPath: [] }),
      3,
      65020,
    );
    expect(fleet.healthyOthers(0)).toBe(2);
  });

  it('counts no more other sites than maxSites over all its peers', () => {
    const fleet = table(2);
    fleet.sessionUp(0, SESSION);
    fleet.sessionUp(1, SESSION);
    for (const site of [2, 3])
      feed(fleet, 0, update({ announce: BOTH(site), communities: [community(site)] }));
    for (const site of [4, 5])
      feed(fleet, 1, update({ announce: BOTH(site), communities: [community(site)] }));
    expect(fleet.healthyOthers(0)).toBe(2);
  });
});

describe('fleet table: the families a session carries', () => {
  it('counts only prefixes of a family an Established session carries, and notices once one none does', () => {
    const fleet = table();
    expect(fleet.unseen(0)).toBe(0);
    fleet.sessionUp(0, { ...SESSION, families: 1, addPath: 1 });
    feed(
      fleet,
      0,
      update({ announce: [{ prefix: '192.0.2.53/32', pathId: 1 }], communities: [community(2)] }),
    );
    feed(
      fleet,
      0,
      update({ announce: [{ prefix: '192.0.2.53/32', pathId: 2 }], communities: [community(3)] }),
    );
    // The IPv6 prefix would count 0 for ever: it is left out, and said to be.
    expect(fleet.known(0)).toBe(true);
    expect(fleet.healthyOthers(0)).toBe(2);
    expect(fleet.unseen(0)).toBe(2);
    fleet.sessionDown(0);
    fleet.sessionUp(0, { ...SESSION, families: 1, addPath: 1 });
    expect(fleet.notices).toEqual([
      'fleet family=ipv6 seen=no: no session carries it, so its prefixes are not counted',
    ]);
    // A second session carries IPv6: its prefix counts again (no site announces it there yet).
    fleet.sessionUp(1, SESSION);
    expect(fleet.unseen(0)).toBe(0);
    feed(
      fleet,
      0,
      update({ announce: [{ prefix: '192.0.2.53/32', pathId: 1 }], communities: [community(2)] }),
    );
    expect(fleet.healthyOthers(0)).toBe(0);
    feed(fleet, 1, update({ announce: BOTH(7), communities: [community(2)] }));
    expect(fleet.healthyOthers(0)).toBe(1);
    // Without a session, nothing is unseen: there is no view at all.
    fleet.sessionDown(0);
    fleet.sessionDown(1);
    expect(fleet.unseen(0)).toBe(0);
    expect(fleet.known(0)).toBe(false);
  });
});

/**
 * A dual-stack site with one BGP peer (AS 65000) on the sim HAL, its OPEN sent: `connect` brings
 * the peer's session up for `families` with ADD-PATH; `routes` delivers UPDATEs; the audit.
 */
function speakerSite(families: number) {
  const doc = document({ rise: 2, fall: 2 }) as Record<string, any>;
  doc['fleet'] = { siteCommunity: '65010:1', lastResortCommunity: '65010:666', settleMs: 500 };
  doc['announcer'] = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [
      {
        address: '127.0.12.2',
        port: 1179,
        remoteAs: 65000,
        nextHopV4: '192.0.2.10',
        nextHopV6: '2001:db8::10',
      },
    ],
  };
  const config = readConfig(doc).config!;
  const sim = new SimHal({ socketsMax: 16, seed: 3 });
  const speaker = new BgpSpeaker(config, sim);
  const lifeline = new Lifeline(config, sim, speaker);
  lifeline.start();
  sim.runFor(1);
  const peer = addPathPeerOpen(0, families);
  sim.deliver(0, peer.open);
  sim.deliver(0, peer.keepalive);
  expect(speaker.sessions[0]!.state).toBe(SessionState.Established);
  const audit = (event: string): string[] =>
    lifeline.audit
      .last(256)
      .filter((record) => record.split(' ')[2] === event)
      .map((record) => record.split(' ').slice(3).join(' '));
  return { sim, speaker, lifeline, audit };
}

describe('speaker with fleet: the guard on what the router sends (sim HAL)', () => {
  it('a session inventing three sites (its own origin AS) does not make a site that falls alone withdraw', () => {
    const site = speakerSite(3);
    for (const id of [1, 2, 3])
      site.sim.deliver(
        0,
        update({ announce: BOTH(id), communities: [community(1 + id)], asPath: [65000] }),
      );
    site.sim.runFor(2000);
    expect(site.speaker.fleet!.healthyOthers(0)).toBe(0);
    site.sim.setAll({ behaviour: Behaviour.Silent });
    site.sim.runFor(3000);
    // Before the fix these three counted: `hold ... reason=settle`, then `release others=3`.
    expect(site.audit('guard')).toEqual(['service=dns action=hold others=0 min=1 reason=fleet']);
    // A real site (origin 65010) announcing normally: now it may go.
    site.sim.deliver(0, update({ announce: BOTH(9), communities: [community(7)] }));
    site.sim.runFor(1000);
    expect(site.audit('guard').at(-1)).toBe(
      'service=dns action=release others=1 min=1 reason=fleet',
    );
  });

  it('an IPv4-only session: a site that falls alone leaves while two others announce IPv4', () => {
    const site = speakerSite(1);
    expect(site.speaker.sessions[0]!.families).toBe(1);
    for (const id of [1, 2])
      site.sim.deliver(
        0,
        update({
          announce: [{ prefix: '192.0.2.53/32', pathId: id }],
          communities: [community(1 + id)],
        }),
      );
    site.sim.runFor(2000);
    site.sim.setAll({ behaviour: Behaviour.Silent });
    site.sim.runFor(3000);
    expect(site.audit('guard')).toEqual([
      'service=dns action=hold others=2 min=1 reason=settle',
      'service=dns action=release others=2 min=1 reason=fleet',
    ]);
    expect(site.audit('routes').at(-1)).toBe('service=dns routes=withdrawn cause=guard');
    expect(site.audit('fleet')).toEqual([
      'family=ipv6 seen=no note="no session carries it, so its prefixes are not counted"',
    ]);
    expect(site.lifeline.guard!.view!.unseen!(0)).toBe(2);
  });
});

describe('speaker with fleet (sim HAL)', () => {
  it('negotiates ADD-PATH, reads the peer UPDATEs into its view, and clears it on session drop', () => {
    const config = fleetConfig();
    const sim = new SimHal({ socketsMax: 16, seed: 3 });
    const speaker = new BgpSpeaker(config, sim);
    const lifeline = new Lifeline(config, sim, speaker);
    lifeline.start();
    sim.runFor(1);
    const ourOpen = Buffer.concat(sim.takeWritten(0)).toString('hex');
    expect(ourOpen).toContain('450800010101' + '00020101');
    const peer = addPathPeerOpen(9);
    sim.deliver(0, peer.open);
    sim.deliver(0, peer.keepalive);
    expect(speaker.sessions[0]!.state).toBe(SessionState.Established);
    expect(speaker.sessions[0]!.addPath).toBe(3);
    sim.deliver(0, update({ announce: BOTH(1), communities: [community(2)] }));
    sim.deliver(0, update({ announce: BOTH(2), communities: [community(3)] }));
    expect(speaker.fleet!.known(0)).toBe(true);
    expect(speaker.fleet!.healthyOthers(0)).toBe(2);
    sim.peerClose(0);
    expect(speaker.sessions[0]!.state).toBe(SessionState.Idle);
    expect(speaker.fleet!.known(0)).toBe(false);
    expect(speaker.fleet!.healthyOthers(0)).toBe(0);
    // The guard sees it in the next round.
    sim.runFor(1000);
    expect(lifeline.guard!.others[0]).toBe(-1);
  });

  it('asks for no ADD-PATH without fleet', () => {
    const doc = document() as Record<string, any>;
    doc['announcer'] = fleetConfig().announcer;
    const config = { ...fleetConfig(), fleet: null };
    const sim = new SimHal({ socketsMax: 16, seed: 3 });
    const speaker = new BgpSpeaker(config, sim);
    new Lifeline(config, sim, speaker).start();
    sim.runFor(1);
    expect(Buffer.concat(sim.takeWritten(0)).toString('hex')).not.toContain('4508');
    expect(speaker.fleet).toBeNull();
  });
});

describe('speaker routes with fleet (sim HAL)', () => {
  it('tags announcements with the site community, and re-sends them as last resort (MED, community) in place', () => {
    const doc = document({ rise: 1, fall: 1 }) as Record<string, any>;
    doc['services'][0].prefixes = ['192.0.2.53/32'];
    doc['fleet'] = {
      siteCommunity: '65010:1',
      lastResortCommunity: '65010:666',
      lastResortMed: 500,
      whenUnknown: 'hold',
    };
    doc['announcer'] = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [{ address: '127.0.12.2', port: 1179, remoteAs: 65000, nextHopV4: '192.0.2.10' }],
    };
    const config = readConfig(doc).config!;
    const sim = new SimHal({ socketsMax: 16, seed: 3 });
    const speaker = new BgpSpeaker(config, sim);
    new Lifeline(config, sim, speaker).start();
    sim.runFor(1);
    sim.takeWritten(0);
    const scratch = new Uint8Array(256);
    const open = encodeOpen(scratch, 0, {
      localAs: 65000,
      holdTimeS: 0,
      routerId: new Uint8Array([127, 0, 12, 2]),
      families: 1,
    });
    sim.deliver(0, scratch.slice(0, open));
    sim.deliver(0, scratch.slice(0, encodeKeepalive(scratch, 0)));
    sim.runFor(300);
    const prefix = parsePrefix('192.0.2.53/32') as Prefix;
    const route = (med: number, communities: number[]): string => {
      const nextHop = { family: 4 as const, bytes: new Uint8Array([192, 0, 2, 10]), text: '' };
      const length = encodeAnnounce(scratch, 0, prefix, {
        localAs: 65010,
        as4: true,
        nextHop,
        med,
        communities,
      });
      return Buffer.from(scratch.subarray(0, length)).toString('hex');
    };
    const written = (): string[] =>
      sim
        .takeWritten(0)
        .filter((chunk) => chunk[18] === 2) // the UPDATEs
        .map((chunk) => Buffer.from(chunk).toString('hex'));
    expect(written()).toEqual([route(-1, [OURS])]);
    sim.setAll({ behaviour: Behaviour.Silent });
    sim.runFor(1000);
    // Held as last resort: the same prefix again (an implicit replace), no withdrawal between.
    expect(written()).toEqual([route(500, [OURS, LAST_RESORT])]);
    sim.setAll({ behaviour: Behaviour.Answer });
    sim.runFor(1000);
    expect(written()).toEqual([route(-1, [OURS])]);
  });
});

describe('fleet table under hostile input (sim HAL)', () => {
  it('survives 50,000 random and mutated UPDATEs with path identifiers: no exception, a bounded count', () => {
    const config = fleetConfig(4);
    const sim = new SimHal({ socketsMax: 16, seed: 3 });
    const speaker = new BgpSpeaker(config, sim);
    const lifeline = new Lifeline(config, sim, speaker);
    lifeline.start();
    const { open: peerOpen, keepalive } = addPathPeerOpen(0);
    const valid = [
      update({ announce: BOTH(1), communities: [community(2)] }),
      update({ announce: BOTH(2), communities: [community(3), LAST_RESORT] }),
      update({ withdraw: [...BOTH(1), { prefix: '10.0.0.0/8', pathId: 4 }] }),
      update({ announce: BOTH(7), communities: [community(9), 0xffff0000, OURS] }),
      update({}),
    ];
    let seed = 12;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    let resets = 0;
    let sawOthers = 0;
    const runs = fuzzRuns(50000);
    for (let i = 0; i < runs; i++) {
      if (speaker.sessions[0]!.state !== SessionState.Established) {
        resets++;
        sim.runFor(1300); // the backoff is back to 1 s ±25% after each Established
        sim.deliver(0, peerOpen);
        sim.deliver(0, keepalive);
      }
      const base = valid[i % valid.length]!;
      const message = new Uint8Array(base);
      // Mostly the body: the header is checked before the fleet table sees anything.
      for (let m = 0; m < 1 + (i % 3); m++)
        message[19 + Math.floor(random() * (message.length - 19))] = (random() * 256) | 0;
      sim.deliver(0, message);
      const others = speaker.fleet!.healthyOthers(0);
      expect(others >= 0 && others <= 4).toBe(true);
      sawOthers = Math.max(sawOthers, others);
    }
    expect(resets).toBeGreaterThan(runs / 500);
    expect(sawOthers).toBeGreaterThan(0);
    expect(lifeline.counters.rounds).toBeGreaterThan(0);
  });
});

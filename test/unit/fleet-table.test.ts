// The fleet table's input (issue 12): the ADD-PATH capability, path identifiers in IPv4 NLRI and
// in MP_REACH/MP_UNREACH for IPv6, COMMUNITIES, malformed UPDATEs; the table itself (fill,
// replace and withdraw by path identifier, overflow, session drop); and the speaker negotiating
// and reading it all over a session on the sim HAL.

import { describe, expect, it } from 'vitest';

import { parsePrefix, type Prefix } from '../../firmware/address';
import { readConfig, type Config } from '../../firmware/config';
import {
  BgpError,
  checkUpdate,
  encodeAnnounce,
  encodeKeepalive,
  encodeOpen,
  FAMILY_IPV4,
  FAMILY_IPV6,
  OpenInfo,
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
  attributes(bytes: Uint8Array, at: number, length: number): void {
    this.events.push('communities ' + Buffer.from(bytes.subarray(at, at + length)).toString('hex'));
  }
  route(family: number, bytes: Uint8Array, at: number, bits: number, pathId: number, up: boolean) {
    const value = Buffer.from(bytes.subarray(at, at + ((bits + 7) >> 3))).toString('hex');
    this.events.push((up ? '+' : '-') + family + ' ' + value + '/' + bits + ' id=' + pathId);
  }
  endOfRibReceived(): void {
    this.events.push('end-of-rib');
  }
}

function fleetConfig(maxSites = 4): Config {
  const doc = document() as Record<string, any>;
  doc['fleet'] = { siteCommunity: '65010:1', lastResortCommunity: '65010:666', maxSites };
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
    firstPrefixOf: new Uint16Array([0]),
    prefixCountOf: new Uint16Array([2]),
    peerNames: ['127.0.12.2', '127.0.12.3'],
  });
}

/** Feeds `message` from `peer` into `fleet` as the speaker does. */
function feed(fleet: FleetTable, peer: number, message: Uint8Array, addPath = 3): boolean {
  const error = new BgpError();
  const verdict = checkUpdate(message, 0, message.length, true, error, addPath);
  expect(verdict).not.toBe(UpdateVerdict.SessionReset);
  fleet.select(peer);
  const malformed = verdict === UpdateVerdict.TreatAsWithdraw;
  return readRoutes(message, 0, message.length, addPath, malformed, fleet);
}

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
    expect(readRoutes(message, 0, message.length, 3, false, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities fdf20002ffff0000',
      '+6 20010db80053/48 id=16909060',
      '+4 c0000235/32 id=7',
    ]);
    const gone = update({ withdraw: [{ prefix: '10.0.0.0/8', pathId: 9 }, ...BOTH(3)] });
    recorder.events = [];
    expect(readRoutes(gone, 0, gone.length, 3, false, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities ',
      '-4 0a/8 id=9',
      '-4 c0000235/32 id=3',
      '-6 20010db80053/48 id=3',
    ]);
    // Without ADD-PATH the same prefixes have no identifiers (0).
    const plain = update({ announce: BOTH(0), communities: [community(2)], addPath: false });
    recorder.events = [];
    expect(readRoutes(plain, 0, plain.length, 0, false, recorder)).toBe(true);
    expect(recorder.events.slice(1)).toEqual(['+6 20010db80053/48 id=0', '+4 c0000235/32 id=0']);
  });

  it('sees End-of-RIB, treats malformed attributes as withdraw and refuses malformed NLRI', () => {
    const recorder = new Recorder();
    const empty = update({});
    expect(readRoutes(empty, 0, empty.length, 3, false, recorder)).toBe(true);
    expect(recorder.events).toEqual(['communities ', 'end-of-rib']);
    const bad = update({ announce: BOTH(5), communities: [community(2)], badOrigin: true });
    expect(checkUpdate(bad, 0, bad.length, true, new BgpError(), 3)).toBe(
      UpdateVerdict.TreatAsWithdraw,
    );
    recorder.events = [];
    expect(readRoutes(bad, 0, bad.length, 3, true, recorder)).toBe(true);
    expect(recorder.events).toEqual([
      'communities ',
      '-6 20010db80053/48 id=5',
      '-4 c0000235/32 id=5',
    ]);
    // A path identifier the peer did not negotiate breaks the NLRI: the session resets.
    const withIds = update({ announce: [{ prefix: '192.0.2.53/32', pathId: 0x20000000 }] });
    expect(checkUpdate(withIds, 0, withIds.length, true, new BgpError(), 0)).toBe(
      UpdateVerdict.SessionReset,
    );
    // An IPv6 prefix longer than 128 bits in MP_REACH: nothing is handed on.
    const longV6 = update({ announce: [{ prefix: '2001:db8:53::/48', pathId: 1 }] });
    longV6[longV6.length - 7] = 129;
    recorder.events = [];
    expect(readRoutes(longV6, 0, longV6.length, 3, false, recorder)).toBe(false);
    expect(recorder.events).toEqual([]);
  });
});

describe('fleet table', () => {
  it('counts distinct other sites announcing normally, the least over a service prefixes', () => {
    const fleet = table();
    expect(fleet.known(0)).toBe(false);
    expect(fleet.healthyOthers(0)).toBe(0);
    fleet.sessionUp(0, true);
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
    fleet.sessionUp(1, true);
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
    fleet.sessionUp(0, true);
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
    fleet.sessionUp(0, true);
    feed(fleet, 0, update({}));
    expect(fleet.known(0)).toBe(true);
  });

  it('holds maxSites routes per prefix and peer; the rest are counted and noticed once', () => {
    const fleet = table(2);
    fleet.sessionUp(0, true);
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
    fleet.sessionUp(1, false);
    fleet.sessionDown(1);
    fleet.sessionUp(1, false);
    fleet.sessionUp(0, true);
    expect(fleet.notices).toEqual([
      'fleet peer=127.0.12.3 add-path=no: sees at most one other site',
    ]);
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

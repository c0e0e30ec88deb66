// The BGP session FSM and the speaker as specifications, on the sim HAL: the test plays the peer
// (bytes from the same codec, checked against real peers in bgp-codec.test.ts) and reads back what
// the firmware wrote. Virtual time makes the timers (hold, keepalive, backoff) exact.

import { describe, expect, it } from 'vitest';

import { parsePrefix, type Prefix } from '../../firmware/address';
import { readConfig } from '../../config/validate';
import {
  BgpError,
  checkHeader,
  encodeAnnounce,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  FAMILY_IPV4,
  FAMILY_IPV6,
  MessageType,
} from '../../firmware/bgp/codec';
import { BgpSession, SessionState, WRITE_BYTES_MAX } from '../../firmware/bgp/session';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { Lifeline } from '../../firmware/lifeline';
import { Behaviour, SimHal, StreamPeer } from '../../hal/sim/index';
import { document, fuzzRuns } from '../helpers';

function bgpRig(
  options: {
    drainMed?: number;
    holdTimeS?: number;
    rise?: number;
    peers?: number;
    gracefulShutdownMs?: number;
    restartTimeS?: number;
    onShutdown?: 'keep';
    local?: boolean;
    passive?: boolean;
  } = {},
) {
  const doc = document({ rise: options.rise ?? 3, fall: 3, local: options.local ?? false }) as any;
  doc.services[0].prefixes = ['192.0.2.53/32', '2001:db8:53::53/128'];
  if (options.drainMed !== undefined) doc.services[0].drain = { med: options.drainMed };
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [0, 1, 2, 3].slice(0, options.peers ?? 1).map((i) => ({
      address: i === 0 ? '127.0.0.2' : '2001:db8::' + (i + 1),
      port: 1179,
      remoteAs: 65000,
      holdTimeS: options.holdTimeS ?? 9,
      nextHopV4: '192.0.2.10',
      nextHopV6: '2001:db8::10',
      ...(options.passive === true ? { passive: true } : {}),
      ...(options.passive === true && i === 0 ? { localAddress: '127.0.0.1' } : {}),
    })),
  };
  if (options.gracefulShutdownMs !== undefined)
    doc.announcer.gracefulShutdownMs = options.gracefulShutdownMs;
  if (options.restartTimeS !== undefined) doc.announcer.restartTimeS = options.restartTimeS;
  if (options.onShutdown !== undefined) doc.announcer.onShutdown = options.onShutdown;
  const result = readConfig(doc);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  const sim = new SimHal({ socketsMax: 16, seed: 3 });
  const speaker = new BgpSpeaker(result.config, sim);
  const lifeline = new Lifeline(result.config, sim, speaker);
  lifeline.start();
  const session = (): BgpSession => speaker.sessions[0]!;
  return { sim, lifeline, speaker, session };
}

const scratch = new Uint8Array(4096);
const peerOpen = (as = 65000, holdTimeS = 3, families = FAMILY_IPV4 | FAMILY_IPV6): Uint8Array =>
  scratch.slice(
    0,
    encodeOpen(scratch, 0, {
      localAs: as,
      holdTimeS,
      routerId: new Uint8Array([127, 0, 0, 2]),
      families,
    }),
  );
const keepalive = (): Uint8Array => scratch.slice(0, encodeKeepalive(scratch, 0));
/** ROUTE-REFRESH (RFC 2918) for `afi` (1 IPv4, 2 IPv6) and `safi` (1 unicast). */
const routeRefresh = (afi: number, safi = 1): Uint8Array =>
  new Uint8Array(
    Buffer.from('ffffffffffffffffffffffffffffffff001705' + hex4(afi) + '00' + hex2(safi), 'hex'),
  );
const hex2 = (value: number): string => value.toString(16).padStart(2, '0');
const hex4 = (value: number): string => value.toString(16).padStart(4, '0');

/** The messages in `chunks` (as written by the firmware), as [type, bytes]. */
function messages(chunks: Uint8Array[]): [number, Uint8Array][] {
  const all = Buffer.concat(chunks);
  const found: [number, Uint8Array][] = [];
  const error = new BgpError();
  for (let offset = 0; offset < all.length;) {
    const length = checkHeader(all, offset, all.length - offset, error);
    if (length <= 0) throw new Error('the firmware wrote a broken message at ' + offset);
    found.push([all[offset + 18]!, new Uint8Array(all.subarray(offset, offset + length))]);
    offset += length;
  }
  return found;
}

const types = (chunks: Uint8Array[]): number[] => messages(chunks).map(([type]) => type);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Drives the handshake: connect, OPEN both ways, KEEPALIVE both ways. */
function establish(rig: ReturnType<typeof bgpRig>, holdTimeS = 3): void {
  rig.sim.runFor(1);
  expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Open]);
  rig.sim.deliver(0, peerOpen(65000, holdTimeS));
  expect(rig.session().state).toBe(SessionState.OpenConfirm);
  expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Keepalive]);
  rig.sim.deliver(0, keepalive());
  expect(rig.session().state).toBe(SessionState.Established);
}

describe('BGP session FSM (sim HAL)', () => {
  it('connects, negotiates hold = min of both, and sends the routes once the service rises', () => {
    const rig = bgpRig({ holdTimeS: 9 });
    establish(rig, 3);
    expect(rig.session().holdTimeS).toBe(3);
    expect(rig.session().as4).toBe(true);
    rig.sim.runUntil(501);
    const sent = messages(rig.sim.takeWritten(0));
    const expected = [parsePrefix('192.0.2.53/32'), parsePrefix('2001:db8:53::53/128')].map(
      (prefix) => {
        const p = prefix as Prefix;
        const nextHop = {
          family: p.family,
          bytes:
            p.family === 4
              ? new Uint8Array([192, 0, 2, 10])
              : new Uint8Array(Buffer.from('20010db8000000000000000000000010', 'hex')),
          text: '',
        };
        return hex(
          scratch.slice(
            0,
            encodeAnnounce(scratch, 0, p, {
              localAs: 65010,
              as4: true,
              nextHop,
              med: -1,
              communities: [],
            }),
          ),
        );
      },
    );
    expect(sent.map(([, bytes]) => hex(bytes))).toEqual(expected);
    expect(rig.session().statistics!.updatesSent).toBe(2);
  });

  it('frames a largest-size UPDATE and the KEEPALIVE behind it in one chunk, and split anywhere', () => {
    // 4,096 bytes: 814 withdrawn /32s and one /16 (RFC 4271 allows it; a board's frame holds one).
    const update = new Uint8Array(4096);
    update.fill(0xff, 0, 16);
    update.set([0x10, 0x00, MessageType.Update, 4073 >> 8, 4073 & 0xff], 16);
    for (let i = 0; i < 814; i++) update.set([32, 198, 51, i >> 8, i & 0xff], 21 + 5 * i);
    update.set([16, 10, 0], 21 + 5 * 814); // then a 0 total path attribute length
    const both = Buffer.concat([update, keepalive()]);
    for (const split of [both.length, 1, 19, 511, 512, 513, 4095, 4096, 4097]) {
      const rig = bgpRig();
      establish(rig, 3);
      for (let at = 0; at < both.length; at += split)
        rig.sim.deliver(0, both.subarray(at, Math.min(at + split, both.length)));
      expect(rig.session().state, 'split ' + split).toBe(SessionState.Established);
      expect(rig.session().statistics!.updatesReceived, 'split ' + split).toBe(1);
      expect(rig.session().statistics!.treatAsWithdraw).toBe(0);
    }
  });

  it('keeps the session with KEEPALIVEs every hold/3, and drops it at hold-timer expiry with 4/0', () => {
    const rig = bgpRig();
    establish(rig, 3);
    rig.sim.takeWritten(0);
    for (let second = 0; second < 10; second++) {
      rig.sim.runFor(1000);
      rig.sim.deliver(0, keepalive());
    }
    expect(rig.session().state).toBe(SessionState.Established);
    const alive = types(rig.sim.takeWritten(0)).filter(
      (type) => type === MessageType.Keepalive,
    ).length;
    expect(alive).toBeGreaterThanOrEqual(9);
    expect(alive).toBeLessThanOrEqual(11);
    const silentAt = rig.sim.timeMs;
    rig.sim.runUntil(silentAt + 2999);
    expect(rig.session().state).toBe(SessionState.Established);
    rig.sim.runUntil(silentAt + 3000);
    expect(rig.session().state).toBe(SessionState.Idle);
    const notification = messages(rig.sim.streamWrites[0]!.splice(0)).pop()!;
    expect(hex(notification[1]).slice(-6)).toBe('030400'); // NOTIFICATION, hold timer expired
    expect(rig.session().statistics!.lastError).toMatch(/hold-timer-expired/);
  });

  it('reconnects after a backoff of 1 s ±25%, doubling up to 60 s, reset once established', () => {
    const rig = bgpRig();
    rig.sim.streamPeer[0] = StreamPeer.Refuse;
    rig.sim.runFor(1);
    rig.sim.peerClose(0); // the first attempt (at boot) was accepted: end it, then every retry is refused
    const attempts: number[] = [];
    let last = 0;
    for (let t = 0; t < 400000; t += 50) {
      rig.sim.runUntil(t);
      if (rig.sim.streamConnects[0] !== last) {
        last = rig.sim.streamConnects[0]!;
        attempts.push(t);
      }
    }
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(700);
    expect(gaps[0]).toBeLessThanOrEqual(1300);
    expect(gaps[3]).toBeGreaterThanOrEqual(0.75 * 8000 - 50);
    expect(gaps[3]).toBeLessThanOrEqual(1.25 * 8000 + 50);
    for (const gap of gaps.slice(8)) expect(gap).toBeLessThanOrEqual(1.25 * 60000 + 50);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(0.75 * 60000);
    rig.sim.takeWritten(0);
    rig.sim.streamPeer[0] = StreamPeer.Accept;
    rig.sim.runFor(80000);
    expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Open]);
    rig.sim.deliver(0, peerOpen());
    rig.sim.deliver(0, keepalive());
    expect(rig.session().state).toBe(SessionState.Established);
  });

  it('refuses a peer with the wrong AS: NOTIFICATION 2/2 carrying its AS', () => {
    const rig = bgpRig();
    rig.sim.runFor(1);
    rig.sim.takeWritten(0);
    rig.sim.deliver(0, peerOpen(65099));
    expect(rig.session().state).toBe(SessionState.Idle);
    const [[type, bytes]] = messages(rig.sim.streamWrites[0]!.splice(0)) as [[number, Uint8Array]];
    expect(type).toBe(MessageType.Notification);
    expect(hex(bytes.subarray(19))).toBe('0202' + (65099).toString(16));
    expect(rig.session().statistics!.lastError).toMatch(/bad-peer-as 65099 \(expected 65000\)/);
  });

  it('answers garbage with 1/1, a hold time of 2 with 2/6, and keeps probing throughout', () => {
    const rig = bgpRig();
    establish(rig);
    const rounds = rig.lifeline.counters.rounds;
    rig.sim.deliver(0, new Uint8Array(40).fill(0x42));
    expect(rig.session().state).toBe(SessionState.Idle);
    expect(hex(messages(rig.sim.streamWrites[0]!.splice(0)).pop()![1].subarray(19))).toBe('0101');
    rig.sim.runFor(2000);
    rig.sim.takeWritten(0);
    rig.sim.deliver(0, peerOpen(65000, 2));
    expect(hex(messages(rig.sim.streamWrites[0]!.splice(0)).pop()![1].subarray(19))).toBe('0206');
    expect(rig.lifeline.counters.rounds).toBeGreaterThan(rounds);
  });

  it('closes on a NOTIFICATION from the peer, and comes back with the routes', () => {
    const rig = bgpRig({ rise: 1 });
    establish(rig);
    rig.sim.runFor(300);
    rig.sim.takeWritten(0);
    const error = new BgpError();
    error.set(6, 4); // CEASE, administrative reset
    rig.sim.deliver(0, scratch.slice(0, encodeNotification(scratch, 0, error)));
    expect(rig.session().state).toBe(SessionState.Idle);
    expect(rig.session().statistics!.lastError).toMatch(
      /received notification 6\/4 \(cease\/administrative-reset\)/,
    );
    rig.sim.runFor(1300);
    rig.sim.takeWritten(0);
    rig.sim.deliver(0, peerOpen());
    rig.sim.deliver(0, keepalive());
    expect(types(rig.sim.takeWritten(0))).toEqual([
      MessageType.Keepalive,
      MessageType.Update,
      MessageType.Update,
    ]);
  });

  it('sends a state change at once: withdrawn, or drained with the MED; ROUTE-REFRESH resends that family', () => {
    const rig = bgpRig({ drainMed: 5000, rise: 1 });
    establish(rig);
    rig.sim.runFor(300);
    rig.sim.takeWritten(0);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(1500);
    const drained = messages(rig.sim.takeWritten(0)).filter(
      ([type]) => type === MessageType.Update,
    );
    expect(drained.length).toBe(2);
    for (const [, bytes] of drained)
      expect(hex(bytes)).toContain('8004040000' + (5000).toString(16).padStart(4, '0'));
    // RFC 2918: a ROUTE-REFRESH for IPv4 unicast is answered with the IPv4 route only, and one
    // for IPv6 unicast with the IPv6 route only.
    rig.sim.deliver(0, routeRefresh(1));
    const v4 = messages(rig.sim.takeWritten(0));
    expect(v4.map(([type]) => type)).toEqual([MessageType.Update]);
    expect(hex(v4[0]![1])).toBe(hex(drained[0]![1]));
    rig.sim.deliver(0, routeRefresh(2));
    const v6 = messages(rig.sim.takeWritten(0));
    expect(v6.map(([type]) => type)).toEqual([MessageType.Update]);
    expect(hex(v6[0]![1])).toBe(hex(drained[1]![1]));
  });

  it('refuses a peer with no family in common: NOTIFICATION 2/7 (unsupported capability)', () => {
    const rig = bgpRig();
    rig.sim.runFor(1);
    rig.sim.takeWritten(0);
    const open = peerOpen();
    // Rewrite both multiprotocol capabilities to AFI 25 (L2VPN): no unicast family is left.
    const text = hex(open).replace('0104000100010104000200', '0104001900010104001900');
    rig.sim.deliver(0, new Uint8Array(Buffer.from(text, 'hex')));
    expect(rig.session().state).toBe(SessionState.Idle);
    expect(hex(messages(rig.sim.streamWrites[0]!.splice(0)).pop()![1].subarray(19))).toBe('0207');
    expect(rig.session().statistics!.lastError).toMatch(/no-common-family/);
  });

  it('serves several peers at once, each with its own session and status', () => {
    const rig = bgpRig({ peers: 2, rise: 1 });
    rig.sim.runFor(1);
    for (const id of [0, 1]) {
      expect(types(rig.sim.takeWritten(id)), 'stream ' + id).toEqual([MessageType.Open]);
      rig.sim.deliver(id, peerOpen(65000, 3, id === 0 ? FAMILY_IPV4 : FAMILY_IPV4 | FAMILY_IPV6));
      rig.sim.deliver(id, keepalive());
    }
    rig.sim.runFor(300);
    expect(types(rig.sim.takeWritten(0)).filter((type) => type === MessageType.Update).length).toBe(
      1,
    ); // IPv4 only
    expect(types(rig.sim.takeWritten(1)).filter((type) => type === MessageType.Update).length).toBe(
      2,
    );
    const status = rig.speaker.status(rig.sim.timeMs);
    expect(status.map((peer) => [peer.peer, peer.state, peer.updatesSent])).toEqual([
      ['127.0.0.2:1179', 'established', 1],
      ['[2001:db8::2]:1179', 'established', 2],
    ]);
    expect(status[0]!.uptimeMs).toBe(300);
    rig.sim.peerClose(1);
    expect(rig.speaker.status(rig.sim.timeMs)[1]).toMatchObject({
      state: 'idle',
      lastError: 'connection-closed',
      uptimeMs: 0,
    });
  });

  it('on shutdown withdraws every prefix and sends CEASE 6/2', () => {
    const rig = bgpRig({ rise: 1 });
    establish(rig);
    rig.sim.runFor(300);
    rig.sim.takeWritten(0);
    rig.lifeline.stop();
    const sent = messages(rig.sim.streamWrites[0]!.splice(0));
    expect(sent.map(([type]) => type)).toEqual([
      MessageType.Update,
      MessageType.Update,
      MessageType.Notification,
    ]);
    expect(hex(sent[0]![1])).toBe('ffffffffffffffffffffffffffffffff001c02000520c00002350000');
    expect(hex(sent[2]![1].subarray(19))).toBe('0602');
    expect(rig.session().state).toBe(SessionState.Idle);
    rig.sim.runFor(120000);
    expect(rig.sim.streamConnects[0]).toBe(1); // no reconnect after shutdown
  });

  it('ignores a ROUTE-REFRESH for a family it did not negotiate or for another SAFI (RFC 2918 4)', () => {
    const rig = bgpRig({ rise: 1 });
    rig.sim.runFor(1);
    rig.sim.takeWritten(0);
    rig.sim.deliver(0, peerOpen(65000, 3, FAMILY_IPV4));
    rig.sim.deliver(0, keepalive());
    rig.sim.runFor(300);
    rig.sim.takeWritten(0);
    for (const [afi, safi] of [
      [2, 1],
      [1, 2],
      [25, 65],
    ] as const) {
      rig.sim.deliver(0, routeRefresh(afi, safi));
      expect(types(rig.sim.takeWritten(0)), afi + '/' + safi).toEqual([]);
    }
    rig.sim.deliver(0, routeRefresh(1));
    expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Update]);
    expect(rig.session().state).toBe(SessionState.Established);
  });

  it('logs a NOTIFICATION by code and subcode name, with its shutdown communication (RFC 8203)', () => {
    const rig = bgpRig();
    establish(rig);
    const text = Buffer.from('maintenance "ticket 42"\nbye \u00e9');
    const notification = Buffer.concat([
      Buffer.from('ffffffffffffffffffffffffffffffff0000030602', 'hex'),
      Buffer.from([text.length]),
      text,
    ]);
    notification.writeUInt16BE(notification.length, 16);
    rig.sim.deliver(0, new Uint8Array(notification));
    expect(rig.session().statistics!.lastError).toBe(
      'received notification 6/2 (cease/administrative-shutdown) message="maintenance ' +
        '\\x22ticket 42\\x22\\x0abye \\xc3\\xa9"',
    );
    expect(rig.sim.logged.join('\n')).toContain('(cease/administrative-shutdown) message="');
    rig.sim.runFor(2000);
    rig.sim.takeWritten(0);
    rig.sim.deliver(0, peerOpen());
    rig.sim.deliver(0, keepalive());
    rig.sim.deliver(
      0,
      new Uint8Array(Buffer.from('ffffffffffffffffffffffffffffffff0015030303', 'hex')),
    );
    expect(rig.session().statistics!.lastError).toBe(
      'received notification 3/3 (update/missing-well-known-attribute)',
    );
  });

  it('retries within 250 ms after the peer CEASEs an established session, then backs off as before', () => {
    const rig = bgpRig();
    establish(rig);
    const error = new BgpError();
    error.set(6, 4);
    rig.sim.deliver(0, scratch.slice(0, encodeNotification(scratch, 0, error)));
    const ceasedAt = rig.sim.timeMs;
    rig.sim.runFor(150 - 1);
    expect(rig.sim.streamConnects[0]).toBe(1);
    rig.sim.runUntil(ceasedAt + 250);
    expect(rig.sim.streamConnects[0]).toBe(2);
    // That attempt is refused: the next waits the usual 1 s ±25%.
    rig.sim.streamPeer[0] = StreamPeer.Refuse;
    rig.sim.peerClose(0);
    const refusedAt = rig.sim.timeMs;
    rig.sim.runUntil(refusedAt + 700);
    expect(rig.sim.streamConnects[0]).toBe(2);
    rig.sim.runUntil(refusedAt + 1300);
    expect(rig.sim.streamConnects[0]).toBe(3);
  });

  it('a peer that floods ROUTE-REFRESH and never reads: unsent bytes stay bounded, routes go once it reads', () => {
    const rig = bgpRig({ rise: 1, holdTimeS: 90 });
    establish(rig, 90);
    rig.sim.runFor(300);
    expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Update, MessageType.Update]);
    rig.sim.stopReading(0);
    const rounds = rig.lifeline.counters.rounds;
    const flood = Buffer.concat(Array.from({ length: 1000 }, (_, i) => routeRefresh(1 + (i % 2))));
    for (let burst = 0; burst < 100; burst++) {
      rig.sim.deliver(0, new Uint8Array(flood));
      rig.sim.runFor(10);
    }
    const held = rig.sim.takeWritten(0);
    const heldBytes = held.reduce((sum, chunk) => sum + chunk.length, 0);
    expect(heldBytes).toBeLessThanOrEqual(WRITE_BYTES_MAX);
    expect(heldBytes).toBeGreaterThan(WRITE_BYTES_MAX - 100);
    expect(rig.sim.streamUnreadBytes[0]).toBe(heldBytes);
    expect(rig.session().state).toBe(SessionState.Established);
    expect(rig.lifeline.counters.rounds).toBeGreaterThan(rounds);
    // The peer reads again: what is still pending goes out once (both prefixes), not per request.
    rig.sim.resumeReading(0);
    expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Update, MessageType.Update]);
  });

  it('a peer that stops reading for good is reset 8 minutes after the first refused write (RFC 9687 send hold timer)', () => {
    const rig = bgpRig({ rise: 1, holdTimeS: 90 });
    establish(rig, 90);
    rig.sim.runFor(300);
    const flood = Buffer.concat(Array.from({ length: 50 }, (_, i) => routeRefresh(1 + (i % 2))));
    // It stops reading and keeps asking: reset at 8 minutes (RFC 9687 4: the greater of
    // 8 minutes and twice the hold time) after the first refused write, with NOTIFICATION 8/0.
    rig.sim.stopReading(0);
    let blockedAt = -1;
    for (
      let second = 0;
      second < 600 && rig.session().state === SessionState.Established;
      second++
    ) {
      rig.sim.deliver(0, new Uint8Array(flood));
      if (blockedAt < 0 && rig.sim.streamRefused[0] === 1) blockedAt = rig.sim.timeMs;
      rig.sim.runFor(1000);
    }
    expect(rig.session().state).toBe(SessionState.Idle);
    expect(rig.session().statistics!.lastError).toMatch(/^send-hold-timer-expired/);
    expect(rig.sim.timeMs - blockedAt).toBeGreaterThanOrEqual(480000);
    expect(rig.sim.timeMs - blockedAt).toBeLessThanOrEqual(481000);
  });

  describe('graceful shutdown (RFC 8326)', () => {
    const GSHUT = 'c00804ffff0000'; // COMMUNITIES: 65535:0

    it('a planned withdrawal first announces GRACEFUL_SHUTDOWN, then withdraws after gracefulShutdownMs', () => {
      const rig = bgpRig({ rise: 1, gracefulShutdownMs: 2000, holdTimeS: 90 });
      establish(rig, 90);
      rig.sim.runFor(300);
      const announced = messages(rig.sim.takeWritten(0));
      expect(announced.map(([, bytes]) => hex(bytes).includes(GSHUT))).toEqual([false, false]);
      rig.sim.setAll({ behaviour: Behaviour.Silent });
      rig.sim.runFor(1500);
      const shutting = messages(rig.sim.takeWritten(0)).filter(
        ([type]) => type === MessageType.Update,
      );
      expect(shutting.length).toBe(2);
      for (const [, bytes] of shutting) expect(hex(bytes)).toContain(GSHUT);
      const shutAt = rig.sim.timeMs;
      rig.sim.runUntil(shutAt + 1000);
      expect(types(rig.sim.takeWritten(0)).filter((t) => t === MessageType.Update)).toEqual([]);
      rig.sim.runUntil(shutAt + 2100);
      const gone = messages(rig.sim.takeWritten(0)).filter(([type]) => type === MessageType.Update);
      expect(gone.length).toBe(2);
      expect(hex(gone[0]![1])).toBe('ffffffffffffffffffffffffffffffff001c02000520c00002350000');
      expect(hex(gone[1]![1])).toContain('800f'); // MP_UNREACH_NLRI
      // A ROUTE-REFRESH during the graceful shutdown would have been answered with it too; after
      // it, a withdrawn service has nothing to send.
      rig.sim.deliver(0, routeRefresh(1));
      expect(types(rig.sim.takeWritten(0))).toEqual([]);
    });

    it('a re-announcement during it cancels the withdrawal', () => {
      const rig = bgpRig({ rise: 1, gracefulShutdownMs: 5000, holdTimeS: 90 });
      establish(rig, 90);
      rig.sim.runFor(300);
      rig.sim.takeWritten(0);
      rig.sim.setAll({ behaviour: Behaviour.Silent });
      rig.sim.runFor(1500);
      const shutting = messages(rig.sim.takeWritten(0)).filter(([t]) => t === MessageType.Update);
      expect(shutting.length).toBe(2);
      expect(shutting.every(([, bytes]) => hex(bytes).includes(GSHUT))).toBe(true);
      rig.sim.setAll({ behaviour: Behaviour.Answer });
      rig.sim.runFor(1000);
      const back = messages(rig.sim.takeWritten(0)).filter(([type]) => type === MessageType.Update);
      expect(back.length).toBe(2);
      for (const [, bytes] of back) expect(hex(bytes)).not.toContain(GSHUT);
      rig.sim.runFor(10000);
      expect(types(rig.sim.takeWritten(0)).filter((t) => t === MessageType.Update)).toEqual([]);
    });

    it('a failed local service withdraws at once, without it', () => {
      const rig = bgpRig({ rise: 1, gracefulShutdownMs: 5000, local: true, holdTimeS: 90 });
      establish(rig, 90);
      rig.sim.runFor(300);
      rig.sim.takeWritten(0);
      rig.sim.setTarget(rig.sim.socketOf('127.0.0.1:53'), { behaviour: Behaviour.Silent });
      rig.sim.runFor(1500);
      const sent = messages(rig.sim.takeWritten(0)).filter(([type]) => type === MessageType.Update);
      expect(sent.length).toBe(2);
      expect(hex(sent[0]![1])).toBe('ffffffffffffffffffffffffffffffff001c02000520c00002350000');
    });

    it('a stop announces it, waits, then withdraws and CEASEs; onStopped runs only then', () => {
      const rig = bgpRig({ rise: 1, gracefulShutdownMs: 3000, holdTimeS: 90 });
      establish(rig, 90);
      rig.sim.runFor(300);
      rig.sim.takeWritten(0);
      let stoppedAt = -1;
      const stopAt = rig.sim.timeMs;
      rig.lifeline.stop(() => (stoppedAt = rig.sim.timeMs));
      const shutting = messages(rig.sim.takeWritten(0));
      expect(shutting.map(([type]) => type)).toEqual([MessageType.Update, MessageType.Update]);
      for (const [, bytes] of shutting) expect(hex(bytes)).toContain(GSHUT);
      rig.sim.runFor(2900);
      expect(stoppedAt).toBe(-1);
      expect(rig.session().state).toBe(SessionState.Established);
      rig.sim.runFor(200);
      expect(
        types(rig.sim.streamWrites[0]!.splice(0)).filter((t) => t !== MessageType.Keepalive),
      ).toEqual([MessageType.Update, MessageType.Update, MessageType.Notification]);
      expect(stoppedAt).toBe(stopAt + 3000);
      expect(rig.session().state).toBe(SessionState.Idle);
    });
  });

  describe('graceful restart (RFC 4724), speaker side', () => {
    it('offers the capability (restarted once), and follows the routes with End-of-RIB for each family', () => {
      const rig = bgpRig({ rise: 3, restartTimeS: 120, holdTimeS: 90 });
      rig.sim.runFor(1);
      const [[, open]] = messages(rig.sim.takeWritten(0)) as [[number, Uint8Array]];
      // Capability 64, length 10: R bit and 120 s, then IPv4 and IPv6 unicast with F set.
      expect(hex(open)).toContain('400a8078' + '00010180' + '00020180');
      // Established before the first decision: no End-of-RIB yet (it would have the router drop
      // the routes it kept through our restart); it follows the routes once they are decided.
      rig.sim.deliver(0, peerOpen(65000, 90));
      rig.sim.deliver(0, keepalive());
      expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Keepalive]);
      rig.sim.runFor(600);
      const sent = messages(rig.sim.takeWritten(0)).map(([, bytes]) => hex(bytes));
      expect(sent.slice(0, 2).map((h) => h.slice(36, 38))).toEqual(['02', '02']); // the routes
      expect(sent.slice(2)).toEqual([
        'ffffffffffffffffffffffffffffffff00170200000000',
        'ffffffffffffffffffffffffffffffff001d0200000006800f03000201',
      ]);
      // The next session (the peer restarted) no longer says that we did.
      rig.sim.peerClose(0);
      rig.sim.runFor(1500);
      const [[, again]] = messages(rig.sim.takeWritten(0)) as [[number, Uint8Array]];
      expect(hex(again)).toContain('400a0078');
    });

    it('a stop that keeps the routes closes without CEASE, so routers keep them for the restart time', () => {
      const rig = bgpRig({ rise: 1, restartTimeS: 120, holdTimeS: 90, onShutdown: 'keep' });
      establish(rig, 90);
      rig.sim.runFor(300);
      rig.sim.takeWritten(0);
      rig.lifeline.stop();
      expect(types(rig.sim.streamWrites[0]!.splice(0))).toEqual([]);
      expect(rig.session().state).toBe(SessionState.Idle);
      expect(rig.sim.streamOpen[0]).toBe(0);
    });

    it('without a restart time: no capability, no End-of-RIB (the bytes of before)', () => {
      const rig = bgpRig({ rise: 1 });
      rig.sim.runFor(1);
      expect(hex(messages(rig.sim.takeWritten(0))[0]![1])).not.toContain('4006');
      rig.sim.deliver(0, peerOpen());
      rig.sim.deliver(0, keepalive());
      expect(types(rig.sim.takeWritten(0))).toEqual([
        MessageType.Keepalive,
        MessageType.Update,
        MessageType.Update,
      ]);
    });
  });

  describe('passive peers (the router connects to us)', () => {
    it('listens on localAddress and port, never connects out, and takes only the peer', () => {
      const rig = bgpRig({ rise: 1, passive: true, peers: 2 });
      rig.sim.runFor(5000);
      expect([rig.sim.streamConnects[0], rig.sim.streamConnects[1]]).toEqual([0, 0]);
      expect(rig.sim.listeners.map((l) => [l.listenerId, l.family, l.address, l.port])).toEqual([
        [0, 4, '127.0.0.1', 1179],
        [1, 6, null, 1179],
      ]);
      expect(rig.sim.connectIn(0, '127.0.0.9')).toBe(-1); // not a configured peer
      expect(rig.sim.connectIn(1, '127.0.0.2')).toBe(-1); // that listener is the IPv6 peer's
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(0);
      expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Open]);
      rig.sim.deliver(0, peerOpen());
      rig.sim.deliver(0, keepalive());
      expect(rig.session().state).toBe(SessionState.Established);
      expect(types(rig.sim.takeWritten(0))).toEqual([
        MessageType.Keepalive,
        MessageType.Update,
        MessageType.Update,
      ]);
    });

    it('collisions (RFC 4271 6.8): refused while Established; in the handshake the new one wins', () => {
      const rig = bgpRig({ rise: 1, passive: true, holdTimeS: 90 });
      rig.sim.runFor(300);
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(0);
      rig.sim.takeWritten(0);
      // The peer gave up on that connection mid-handshake and opens another: it replaces it.
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(0);
      expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Open]);
      expect(rig.session().statistics!.lastError).toBe('replaced-by-new-connection');
      rig.sim.deliver(0, peerOpen(65000, 90));
      rig.sim.deliver(0, keepalive());
      expect(rig.session().state).toBe(SessionState.Established);
      rig.sim.takeWritten(0);
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(-1);
      expect(rig.session().state).toBe(SessionState.Established);
      expect(rig.sim.logged.join('\n')).toContain('refused=second-connection (RFC 4271 6.8)');
      // The peer goes (a restart): the session waits for it, with no backoff of its own.
      rig.sim.peerClose(0);
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(0);
      expect(types(rig.sim.takeWritten(0))).toEqual([MessageType.Open]);
    });

    it('closes its listeners on stop', () => {
      const rig = bgpRig({ rise: 1, passive: true });
      rig.sim.runFor(300);
      rig.lifeline.stop();
      expect(rig.sim.listeners).toEqual([]);
      expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(-1);
    });
  });

  describe('a hostile peer (issue 20): RFC 7606 handling, counted, logged through a throttle', () => {
    const MARKER = 'ffffffffffffffffffffffffffffffff';
    /** An UPDATE of the hex parts given: withdrawn routes, path attributes, NLRI. */
    const update = (withdrawn: string, attributes: string, nlri = ''): Uint8Array => {
      const body =
        hex4(withdrawn.length / 2) + withdrawn + hex4(attributes.length / 2) + attributes;
      const text = MARKER + hex4(19 + (body.length + nlri.length) / 2) + '02' + body + nlri;
      return new Uint8Array(Buffer.from(text, 'hex'));
    };
    const ORIGIN = '40010100';
    const AS_PATH = '40020602010000fdf2';
    const NEXT_HOP = '400304c000020a';
    const V4 = '20c0000235';
    const MP_REACH =
      '800e260002011020010db8000000000000000000000010008020010db8005300000000000000000053';
    const lines = (rig: ReturnType<typeof bgpRig>, text: string): string[] =>
      rig.sim.logged.filter((line) => line.includes(text));

    it('answers a second MP_REACH_NLRI with NOTIFICATION 3/1, and logs the whole UPDATE', () => {
      const rig = bgpRig({ rise: 1 });
      establish(rig);
      rig.sim.takeWritten(0);
      const twice = update('', ORIGIN + AS_PATH + MP_REACH + MP_REACH);
      rig.sim.deliver(0, twice);
      expect(rig.session().state).toBe(SessionState.Idle);
      expect(messages(rig.sim.takeWritten(0)).map(([, bytes]) => hex(bytes))).toEqual([
        MARKER + '0015030301',
      ]);
      expect(rig.session().statistics!.lastError).toBe(
        'malformed-update attribute=14 (sent notification 3/1)',
      );
      expect(rig.speaker.status(rig.sim.timeMs)[0]).toMatchObject({ updateResets: 1 });
      expect(lines(rig, ' update handling=')).toEqual([
        'bgp peer=127.0.0.2:1179 update handling=session-reset attribute=14 error=3/1 ' +
          '(update/malformed-attribute-list) update=' +
          hex(twice),
      ]);
    });

    it('answers a malformed MP_REACH_NLRI with 3/9 (before: the UPDATE and its withdrawals vanished)', () => {
      const rig = bgpRig({ rise: 1 });
      establish(rig);
      rig.sim.takeWritten(0);
      const broken = MP_REACH.replace('0080', '0081'); // a prefix of 129 bits
      rig.sim.deliver(0, update(V4, ORIGIN + AS_PATH + broken));
      expect(rig.session().state).toBe(SessionState.Idle);
      expect(messages(rig.sim.takeWritten(0)).map(([, bytes]) => hex(bytes))).toEqual([
        MARKER + '0015030309',
      ]);
    });

    it('counts treat-as-withdraw, attribute discard and AFI/SAFI disable, and stays Established', () => {
      const rig = bgpRig({ rise: 1 });
      establish(rig);
      rig.sim.takeWritten(0);
      rig.sim.deliver(0, update('', '80010100' + AS_PATH + NEXT_HOP, V4)); // ORIGIN flags: 3c
      rig.sim.deliver(0, update('', ORIGIN + AS_PATH + NEXT_HOP + '40060100', V4)); // 7.6
      rig.sim.deliver(0, update(V4, 'c00f03000180')); // IPv4 VPN, flags: RFC 4760 7
      expect(rig.session().state).toBe(SessionState.Established);
      expect(types(rig.sim.takeWritten(0))).toEqual([]);
      expect(rig.speaker.status(rig.sim.timeMs)[0]).toMatchObject({
        updatesReceived: 3,
        treatAsWithdraw: 1,
        attributeDiscard: 1,
        afiSafiDisable: 1,
        updateResets: 0,
      });
      expect(lines(rig, ' update handling=').map((line) => line.split(' update=')[0])).toEqual([
        'bgp peer=127.0.0.2:1179 update handling=treat-as-withdraw attribute=1 error=3/4 ' +
          '(update/attribute-flags-error)',
        'bgp peer=127.0.0.2:1179 update handling=attribute-discard attribute=6 error=3/5 ' +
          '(update/attribute-length-error)',
        'bgp peer=127.0.0.2:1179 update handling=afi-safi-disable attribute=15 error=3/9 ' +
          '(update/optional-attribute-error)',
      ]);
    });

    it('logs at most 10 of them a minute, then how many it held back', () => {
      const rig = bgpRig({ rise: 1, holdTimeS: 90 });
      establish(rig, 90);
      for (let i = 0; i < 500; i++) rig.sim.deliver(0, update('', '80010100' + AS_PATH, V4));
      expect(rig.session().statistics!.treatAsWithdraw).toBe(500);
      expect(lines(rig, ' update handling=')).toHaveLength(10);
      rig.sim.runFor(61000);
      expect(lines(rig, 'bgp suppressed ')).toEqual([
        'bgp suppressed event=update peer=127.0.0.2:1179 count=490 windowMs=60000',
      ]);
      expect(rig.speaker.log!.throttle.suppressedTotal).toBe(490);
    });

    it('throttles the lines of a connection flood, whether Established or not (43,000 lines before)', () => {
      const rig = bgpRig({ rise: 1, passive: true, holdTimeS: 90 });
      rig.sim.runFor(300);
      // In the handshake: every new connection replaces the last, one line each before.
      for (let i = 0; i < 1000; i++) expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(0);
      expect(lines(rig, 'reason=replaced-by-new-connection')).toHaveLength(10);
      rig.sim.takeWritten(0);
      rig.sim.deliver(0, peerOpen(65000, 90));
      rig.sim.deliver(0, keepalive());
      expect(rig.session().state).toBe(SessionState.Established);
      for (let i = 0; i < 1000; i++) expect(rig.sim.connectIn(0, '127.0.0.2')).toBe(-1);
      expect(lines(rig, 'refused=second-connection')).toHaveLength(10);
      expect(rig.speaker.status(rig.sim.timeMs)[0]).toMatchObject({ connectionsRefused: 1000 });
      // The session's own events are never held back.
      expect(lines(rig, 'state=established')).toHaveLength(1);
      rig.sim.runFor(61000);
      // 999 replaced (the first found the session idle), 10 of them logged.
      expect(lines(rig, 'bgp suppressed ').sort()).toEqual([
        'bgp suppressed event=connect peer=127.0.0.2:1179 count=989 windowMs=60000',
        'bgp suppressed event=refused peer=127.0.0.2:1179 count=990 windowMs=60000',
      ]);
      expect(rig.session().state).toBe(SessionState.Established);
    });

    it('takes an OPEN in the extended format of RFC 9072', () => {
      const rig = bgpRig({ rise: 1 });
      rig.sim.runFor(1);
      rig.sim.takeWritten(0);
      // Our own OPEN's capabilities, as FRR writes them with extended-optional-parameters.
      const ours = hex(peerOpen(65000, 3));
      const capabilities = ours.slice(2 * 31);
      const size = capabilities.length / 2;
      const body = ours.slice(38, 56) + 'ffff' + hex4(size + 3) + '02' + hex4(size) + capabilities;
      const open = MARKER + hex4(19 + body.length / 2) + '01' + body;
      rig.sim.deliver(0, new Uint8Array(Buffer.from(open, 'hex')));
      expect(rig.session().state).toBe(SessionState.OpenConfirm);
      rig.sim.deliver(0, keepalive());
      expect(rig.session().state).toBe(SessionState.Established);
      expect(rig.session().families).toBe(FAMILY_IPV4 | FAMILY_IPV6);
      // A peer that spoke it is answered in it from the next connection on (FRR 8.4 with
      // extended-optional-parameters refuses the usual OPEN with 2/0).
      rig.sim.takeWritten(0);
      rig.sim.deliver(0, new Uint8Array(Buffer.from(MARKER + '0015030200', 'hex')));
      expect(rig.session().state).toBe(SessionState.Idle);
      rig.sim.takeWritten(0);
      rig.sim.runFor(2000);
      const [type, next] = messages(rig.sim.takeWritten(0))[0]!;
      expect(type).toBe(MessageType.Open);
      expect(hex(next).slice(2 * 28, 2 * 31)).toBe('ffff00');
    });

    it("answers a 2/0 that came before the peer's OPEN with the other format, and back", () => {
      const rig = bgpRig({ rise: 1 });
      const open2x0 = new Uint8Array(Buffer.from(MARKER + '0015030200', 'hex'));
      const nextOpen = (): string => {
        rig.sim.takeWritten(0);
        // The backoff doubles with each failure: run to the next connection's OPEN.
        let written: Uint8Array[] = [];
        for (let waitedMs = 0; written.length === 0 && waitedMs < 20000; waitedMs += 100) {
          rig.sim.runFor(100);
          written = rig.sim.takeWritten(0);
        }
        const [type, open] = messages(written)[0]!;
        expect(type).toBe(MessageType.Open);
        return hex(open).slice(2 * 28, 2 * 31);
      };
      rig.sim.runFor(1);
      const [, first] = messages(rig.sim.takeWritten(0))[0]!;
      expect(hex(first).slice(2 * 28, 2 * 30)).not.toBe('ffff');
      // FRR with extended-optional-parameters: its NOTIFICATION before its OPEN.
      rig.sim.deliver(0, open2x0);
      expect(rig.session().state).toBe(SessionState.Idle);
      expect(nextOpen()).toBe('ffff00');
      // A peer that refuses the extended one so too: the usual format again.
      rig.sim.deliver(0, open2x0);
      expect(nextOpen().slice(0, 4)).not.toBe('ffff');
      // Another OPEN error (2/2, bad peer AS) says nothing of the format: kept.
      rig.sim.deliver(0, new Uint8Array(Buffer.from(MARKER + '0015030202', 'hex')));
      expect(nextOpen().slice(0, 4)).not.toBe('ffff');
    });
  });

  it('survives 100,000 random and mutated messages: no exception escapes, every error is a NOTIFICATION', () => {
    const rig = bgpRig();
    const valid = [
      keepalive(),
      peerOpen(),
      Buffer.from(
        'ffffffffffffffffffffffffffffffff003002000000144001010040020602010000fdf2400304c000020a20c0000235',
        'hex',
      ),
    ];
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    let resets = 0;
    const runs = fuzzRuns(100000);
    for (let i = 0; i < runs; i++) {
      if (rig.session().state !== SessionState.Established) {
        rig.sim.runFor(1300); // the backoff is back to 1 s ±25% after each Established
        rig.sim.streamWrites[0]!.length = 0;
        rig.sim.deliver(0, peerOpen());
        rig.sim.deliver(0, keepalive());
      }
      const base = valid[i % valid.length]!;
      const message = new Uint8Array(i % 5 === 0 ? Math.floor(random() * 64) : base.length);
      if (i % 5 !== 0) message.set(base);
      for (let m = 0; m < (i % 5 === 0 ? message.length : 1 + (i % 3)); m++) {
        message[Math.floor(random() * message.length)] = (random() * 256) | 0;
      }
      rig.sim.deliver(0, message);
      if (rig.session().state === SessionState.Idle) {
        resets++;
        const written = messages(rig.sim.streamWrites[0]!.splice(0));
        expect(written.pop()![0]).toBe(MessageType.Notification);
      }
    }
    expect(resets).toBeGreaterThan(runs / 100);
    expect(rig.lifeline.counters.rounds).toBeGreaterThan(0);
  });
});

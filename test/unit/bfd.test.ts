// BFD as a specification (RFC 5880, 5881, 5882, 5883): the Control packet codec byte for byte and
// round trip, RFC 5880 6.8.6's discards, and on the sim HAL the session's state machine, timers,
// jitter, poll sequences and the coupling to the BGP session. The sim's BFD peer answers every
// packet after 1 ms following RFC 5880's state machine; the real routers are test/bfd-routers.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { renderMetrics } from '../../appliance/metrics';
import { Authenticator } from '../../firmware/auth';
import { Console } from '../../firmware/console';

import { BFD_SOCKET_BASE } from '../../firmware/bfd/bfd';
import {
  BfdControl,
  BfdState,
  CONTROL_BYTES,
  decodeControl,
  Diagnostic,
  encodeControl,
  Flag,
  Verdict,
  Word,
} from '../../firmware/bfd/codec';
import { BfdSession, Time, Var } from '../../firmware/bfd/session';
import { encodeKeepalive, encodeOpen, MessageType } from '../../firmware/bgp/codec';
import { SessionState } from '../../firmware/bgp/session';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { espruinoProblems } from '../../config/board';
import { readConfig } from '../../config/validate';
import { Lifeline } from '../../firmware/lifeline';
import { BfdPeer, SimHal } from '../../hal/sim/index';
import { document } from '../helpers';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Up, P, multiplier 3, discriminators 0x01020304 / 0x0a0b0c0d, 100 ms both ways, no echo. */
const VECTOR = '20e00318' + '01020304' + '0a0b0c0d' + '000186a0' + '000186a0' + '00000000';

function vectorPacket(): BfdControl {
  const packet = new BfdControl();
  packet.diagnostic = Diagnostic.None;
  packet.state = BfdState.Up;
  packet.flags = Flag.Poll;
  packet.detectMultiplier = 3;
  packet.words.set([0x01020304, 0x0a0b0c0d, 100000, 100000, 0]);
  return packet;
}

describe('BFD Control packet codec (RFC 5880 4.1)', () => {
  it('encodes a packet byte for byte and decodes it back to the same fields', () => {
    const target = new Uint8Array(CONTROL_BYTES);
    expect(encodeControl(target, 0, vectorPacket())).toBe(CONTROL_BYTES);
    expect(hex(target)).toBe(VECTOR);
    const decoded = new BfdControl();
    expect(decodeControl(target, CONTROL_BYTES, decoded)).toBe(Verdict.Valid);
    expect(decoded).toEqual({ ...vectorPacket(), length: CONTROL_BYTES });
  });

  it('round-trips every state, diagnostic, flag and 32-bit extreme', () => {
    const target = new Uint8Array(CONTROL_BYTES);
    const decoded = new BfdControl();
    for (let state = 0; state < 4; state++)
      for (const diagnostic of [0, 1, 3, 7, 8, 31])
        for (const flags of [0, Flag.Poll, Flag.Final, Flag.ControlPlaneIndependent, Flag.Demand]) {
          const packet = vectorPacket();
          Object.assign(packet, { state, diagnostic, flags, detectMultiplier: 255 });
          packet.words.set([0xffffffff, state < 2 ? 0 : 1, 0xffffffff, 1, 0x80000000]);
          encodeControl(target, 0, packet);
          expect(decodeControl(target, CONTROL_BYTES, decoded)).toBe(Verdict.Valid);
          expect(decoded).toEqual({ ...packet, length: CONTROL_BYTES });
        }
  });

  it('discards as RFC 5880 6.8.6 says, in its order', () => {
    const cases: [string, (bytes: Uint8Array) => number, Verdict][] = [
      ['short', () => 23, Verdict.Short],
      ['version 0', (b) => ((b[0] = 0x00), 24), Verdict.BadVersion],
      ['length 23', (b) => ((b[3] = 23), 24), Verdict.BadLength],
      [
        'length 25 with the A bit',
        (b) => ((b[1] = b[1]! | Flag.Authentication), (b[3] = 25), 25),
        Verdict.BadLength,
      ],
      ['length over the payload', (b) => ((b[3] = 28), 24), Verdict.LengthOverPayload],
      ['detect multiplier 0', (b) => ((b[2] = 0), 24), Verdict.ZeroDetectMultiplier],
      ['multipoint', (b) => ((b[1] = b[1]! | Flag.Multipoint), 24), Verdict.Multipoint],
      ['my discriminator 0', (b) => (b.fill(0, 4, 8), 24), Verdict.ZeroMyDiscriminator],
      [
        'your discriminator 0 while Up',
        (b) => (b.fill(0, 8, 12), 24),
        Verdict.ZeroYourDiscriminator,
      ],
      [
        'authentication',
        (b) => ((b[1] = b[1]! | Flag.Authentication), (b[3] = 26), 26),
        Verdict.Authentication,
      ],
    ];
    for (const [name, mutate, verdict] of cases) {
      const bytes = new Uint8Array(32);
      encodeControl(bytes, 0, vectorPacket());
      const length = mutate(bytes);
      expect(decodeControl(bytes, length, new BfdControl()), name).toBe(verdict);
    }
    // Your Discriminator zero is right for a peer that is Down or AdminDown.
    const down = new Uint8Array(CONTROL_BYTES);
    const packet = vectorPacket();
    packet.state = BfdState.Down;
    packet.words[Word.YourDiscriminator] = 0;
    encodeControl(down, 0, packet);
    expect(decodeControl(down, CONTROL_BYTES, new BfdControl())).toBe(Verdict.Valid);
  });

  it('never throws on 100,000 random and mutated packets', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const bytes = new Uint8Array(64);
    const decoded = new BfdControl();
    let valid = 0;
    for (let i = 0; i < 100_000; i++) {
      encodeControl(bytes, 0, vectorPacket());
      const flips = next() % 4;
      for (let f = 0; f < flips; f++) bytes[next() % 24] = next() & 0xff;
      if (i % 3 === 0) for (let b = 0; b < 64; b++) bytes[b] = next() & 0xff;
      if (decodeControl(bytes, next() % 65, decoded) === Verdict.Valid) valid++;
    }
    expect(valid).toBeGreaterThan(0);
  });
});

interface BfdRigOptions {
  intervalMs?: number;
  multiplier?: number;
  multihop?: boolean;
  holdTimeS?: number;
}

/** The firmware with the built-in speaker to one peer with `bfd`, on the sim HAL, started. */
function bfdRig(options: BfdRigOptions = {}) {
  const doc = document({ intervalMs: 1000, timeoutMs: 200 }) as any;
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [
      {
        address: '10.200.4.2',
        remoteAs: 65000,
        holdTimeS: options.holdTimeS ?? 90,
        localAddress: '10.200.4.1',
        nextHopV6: '2001:db8::10',
        bfd: {
          intervalMs: options.intervalMs ?? 100,
          multiplier: options.multiplier ?? 3,
          multihop: options.multihop ?? false,
        },
      },
    ],
  };
  const result = readConfig(doc);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  const sim = new SimHal({ socketsMax: 16, seed: 5 });
  const speaker = new BgpSpeaker(result.config, sim);
  const lifeline = new Lifeline(result.config, sim, speaker);
  lifeline.start();
  const bfd = (): BfdSession => lifeline.bfd!.sessions[0]!;
  const scratch = new Uint8Array(256);
  const establish = (): void => {
    sim.runFor(1);
    const open = encodeOpen(scratch, 0, {
      localAs: 65000,
      holdTimeS: 90,
      routerId: new Uint8Array([10, 200, 4, 2]),
      families: 3,
    });
    sim.deliver(0, scratch.slice(0, open));
    sim.deliver(0, scratch.slice(0, encodeKeepalive(scratch, 0)));
    expect(speaker.sessions[0]!.state).toBe(SessionState.Established);
  };
  return { sim, speaker, lifeline, bfd, establish };
}

/** What the firmware sent last to the BFD peer, decoded. */
function lastSent(sim: SimHal): BfdControl {
  const packet = new BfdControl();
  expect(decodeControl(sim.bfdLastSent[0]!, CONTROL_BYTES, packet)).toBe(Verdict.Valid);
  return packet;
}

describe('BFD session (RFC 5880 6) on the sim HAL', () => {
  it('comes Up through Init, then polls its faster interval in (RFC 5880 6.8.3)', () => {
    const rig = bfdRig();
    expect(rig.sim.bfdOpen[0]).toMatchObject({
      socketId: BFD_SOCKET_BASE,
      address: '10.200.4.2',
      localAddress: '10.200.4.1',
      multihop: false,
    });
    // The first packet goes at once, Down, with a desired interval of a second (6.8.3).
    rig.sim.runFor(0);
    let sent = lastSent(rig.sim);
    expect([sent.state, sent.words[Word.YourDiscriminator]]).toEqual([BfdState.Down, 0]);
    expect(sent.words[Word.DesiredMinTxUs]).toBe(1_000_000);
    expect(sent.words[Word.RequiredMinRxUs]).toBe(100_000);
    rig.sim.runFor(10);
    expect(rig.bfd().state).toBe(BfdState.Up);
    expect(rig.bfd().everUp).toBe(true);
    sent = lastSent(rig.sim);
    expect(sent.words[Word.YourDiscriminator]).toBe(0xb0000001);
    expect(sent.words[Word.DesiredMinTxUs]).toBe(100_000);
    // The poll sequence for the new interval ended with the peer's F.
    expect(rig.bfd().polling).toBe(false);
    expect(rig.lifeline.audit.last(5).join('\n')).toMatch(
      /bfd peer=10\.200\.4\.2 state=up from=(init|down) diag=none remote=(init|up)/,
    );
  });

  it('sends at the slower of its interval and the peer’s, jittered to 75-100% (RFC 5880 6.8.7)', () => {
    for (const [ours, theirs, multiplier] of [
      [100, 100_000, 3],
      [100, 300_000, 3],
      [300, 100_000, 3],
      [100, 100_000, 1],
    ] as const) {
      const rig = bfdRig({ intervalMs: ours, multiplier });
      rig.sim.bfdPeerIntervalUs[0] = theirs;
      rig.sim.runFor(2000);
      expect(rig.bfd().state).toBe(BfdState.Up);
      const intervalMs = Math.max(ours, theirs / 1000);
      expect(rig.bfd().transmitIntervalMs()).toBe(intervalMs);
      // The detection time: the peer's multiplier (3) times the slower of our receive interval
      // and its transmit interval (6.8.4).
      expect(rig.bfd().detectionTimeMs()).toBe(3 * Math.max(ours, theirs / 1000));
      const gaps: number[] = [];
      const sentAtStart = rig.sim.bfdSent[0]!;
      let before = sentAtStart;
      let at = rig.sim.timeMs;
      for (let step = 0; step < 20_000 && gaps.length < 400; step++) {
        rig.sim.runFor(1);
        if (rig.sim.bfdSent[0] === before) continue;
        // The first gap runs from the test's start, not from a packet.
        if (before !== sentAtStart) gaps.push(rig.sim.timeMs - at);
        before = rig.sim.bfdSent[0]!;
        at = rig.sim.timeMs;
      }
      const most = multiplier === 1 ? 0.9 : 1;
      expect(Math.min(...gaps), `${ours} ${theirs}`).toBeGreaterThanOrEqual(0.75 * intervalMs - 1);
      expect(Math.max(...gaps), `${ours} ${theirs}`).toBeLessThanOrEqual(most * intervalMs + 1);
      // Jittered per packet, not once: the gaps spread over most of the range.
      expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(0.1 * intervalMs);
    }
  });

  it('a silent peer: Down after the detection time, diagnostic 1, and the BGP session dropped', () => {
    const rig = bfdRig();
    rig.establish();
    rig.sim.runFor(1000);
    expect(rig.bfd().state).toBe(BfdState.Up);
    rig.sim.takeWritten(0);
    rig.sim.setBfdPeer(0, BfdPeer.Silent);
    const silentAtMs = rig.sim.timeMs;
    while (rig.bfd().state === BfdState.Up) rig.sim.runFor(1);
    // Within the detection time of the last packet (3 x 100 ms), well before the hold time.
    expect(rig.sim.timeMs - silentAtMs).toBeLessThanOrEqual(300);
    expect(rig.bfd().diagnostic).toBe(Diagnostic.ControlDetectionTimeExpired);
    expect(lastSent(rig.sim).diagnostic).toBe(Diagnostic.ControlDetectionTimeExpired);
    // RFC 5882 4.2.1: the BGP session ends as at a hold timer expiry (NOTIFICATION 4/0).
    expect(rig.speaker.sessions[0]!.state).toBe(SessionState.Idle);
    expect(rig.speaker.sessions[0]!.statistics!.lastError).toMatch(
      /^bfd-down diag=control-detection-time-expired \(sent notification 4\/0\)/,
    );
    const written = Buffer.concat(rig.sim.takeWritten(0));
    expect(written[18]).toBe(MessageType.Notification);
    expect(rig.lifeline.audit.last(1)[0]).toMatch(
      /bfd peer=10\.200\.4\.2 state=down from=up diag=control-detection-time-expired/,
    );
  });

  it('holds the BGP session back while BFD, once Up, is down, and lets it up with BFD (RFC 5882 4.1)', () => {
    const rig = bfdRig();
    rig.establish();
    rig.sim.runFor(1000);
    rig.sim.setBfdPeer(0, BfdPeer.Silent);
    rig.sim.runFor(1000);
    const connects = rig.sim.streamConnects[0]!;
    // Far past every backoff: no connection while BFD is down.
    rig.sim.runFor(120_000);
    expect(rig.sim.streamConnects[0]).toBe(connects);
    expect(rig.speaker.bfdClient!.held[0]).toBe(1);
    expect(rig.speaker.sessions[0]!.state).toBe(SessionState.Idle);
    rig.sim.setBfdPeer(0, BfdPeer.Answer);
    rig.sim.runFor(3000);
    expect(rig.bfd().state).toBe(BfdState.Up);
    expect(rig.speaker.bfdClient!.held[0]).toBe(0);
    expect(rig.sim.streamConnects[0]).toBe(connects + 1);
  });

  it('lets BGP up over a peer whose BFD never came up: it may have none (RFC 5882 4.1)', () => {
    const rig = bfdRig();
    rig.sim.setBfdPeer(0, BfdPeer.Silent);
    rig.establish();
    rig.sim.runFor(10_000);
    expect(rig.bfd().state).toBe(BfdState.Down);
    expect(rig.speaker.sessions[0]!.state).toBe(SessionState.Established);
  });

  it('the peer going AdminDown neither drops nor holds the BGP session (RFC 5882 4.1, 4.2)', () => {
    const rig = bfdRig();
    rig.establish();
    rig.sim.runFor(1000);
    rig.sim.setBfdPeer(0, BfdPeer.AdminDown);
    rig.sim.runFor(1000);
    expect(rig.bfd().state).toBe(BfdState.Down);
    expect(rig.bfd().remoteState).toBe(BfdState.AdminDown);
    expect(rig.bfd().diagnostic).toBe(Diagnostic.NeighborSignaledSessionDown);
    expect(rig.speaker.sessions[0]!.state).toBe(SessionState.Established);
    expect(rig.speaker.bfdClient!.held[0]).toBe(0);
  });

  it('single hop drops what did not arrive with TTL 255; multihop takes it (RFC 5881 5, 5883)', () => {
    const single = bfdRig();
    single.sim.setBfdPeer(0, BfdPeer.Answer, 254);
    single.sim.runFor(5000);
    expect(single.bfd().state).toBe(BfdState.Down);
    expect(single.bfd().packetsReceived).toBe(0);
    expect(single.sim.bfdTtlDropped[0]).toBeGreaterThan(0);
    const multihop = bfdRig({ multihop: true });
    expect(multihop.sim.bfdOpen[0]!.multihop).toBe(true);
    multihop.sim.setBfdPeer(0, BfdPeer.Answer, 250);
    multihop.sim.runFor(5000);
    expect(multihop.bfd().state).toBe(BfdState.Up);
  });

  it('discards a packet for another discriminator (RFC 5880 6.8.6) and counts it', () => {
    const rig = bfdRig();
    rig.sim.runFor(1000);
    const packet = vectorPacket();
    packet.flags = 0;
    packet.words[Word.YourDiscriminator] = rig.bfd().vars[Var.LocalDiscriminator]! ^ 1;
    encodeControl(rig.sim.bfdOpen[0]!.receive, 0, packet);
    const before = rig.bfd().packetsDiscarded;
    rig.lifeline.datagramReceived(BFD_SOCKET_BASE, CONTROL_BYTES, true);
    expect(rig.bfd().packetsDiscarded).toBe(before + 1);
    expect(rig.bfd().state).toBe(BfdState.Up);
  });

  it('answers a poll at once with F and no P (RFC 5880 6.8.7)', () => {
    const rig = bfdRig();
    rig.sim.runFor(1000);
    const packet = vectorPacket();
    packet.words[Word.YourDiscriminator] = rig.bfd().vars[Var.LocalDiscriminator]!;
    packet.words[Word.MyDiscriminator] = 0xb0000001;
    encodeControl(rig.sim.bfdOpen[0]!.receive, 0, packet);
    const sent = rig.sim.bfdSent[0]!;
    rig.lifeline.datagramReceived(BFD_SOCKET_BASE, CONTROL_BYTES, true);
    expect(rig.sim.bfdSent[0]).toBe(sent + 1);
    expect(lastSent(rig.sim).flags).toBe(Flag.Final);
  });

  it('a stop tells the peer AdminDown, diagnostic 7 (RFC 5880 6.8.16)', () => {
    const rig = bfdRig();
    rig.sim.runFor(1000);
    rig.lifeline.stop();
    const sent = lastSent(rig.sim);
    expect([sent.state, sent.diagnostic]).toEqual([BfdState.AdminDown, 7]);
    expect(rig.bfd().times[Time.NextTransmitMs]).toBe(Infinity);
  });
});

describe('BFD in status, metrics and the audit log', () => {
  it('the console status line says bfd=up', () => {
    const rig = bfdRig();
    rig.establish();
    rig.sim.runFor(1000);
    const replies: string[] = [];
    const console_ = new Console({
      lifeline: rig.lifeline,
      auth: new Authenticator(rig.sim, rig.lifeline.audit, null, []),
      write: (line) => replies.push(line),
      bgpSummary: () => 'established',
      drill: null,
    });
    const bytes = new Uint8Array(Buffer.from('status\r\n'));
    console_.receive(bytes, 0, bytes.length);
    expect(replies[0]).toMatch(/ bgp=established bfd=up$/);
    rig.sim.setBfdPeer(0, BfdPeer.Silent);
    rig.sim.runFor(1000);
    replies.length = 0;
    console_.receive(bytes, 0, bytes.length);
    expect(replies[0]).toMatch(/ bfd=down$/);
  });

  it('serves state, transitions, last diagnostic, packets and transmit lateness per peer', () => {
    const rig = bfdRig();
    rig.sim.runFor(1000);
    rig.sim.setBfdPeer(0, BfdPeer.Silent);
    rig.sim.runFor(1000);
    const sources = { lifeline: rig.lifeline, speaker: rig.speaker, auth: null };
    const text = renderMetrics(sources, rig.sim.timeMs);
    const peer = '{peer="10.200.4.2"}';
    expect(text).toContain('lifeline_bfd_state' + peer + ' 1\n');
    // Down to Up (the peer answered Init), Up to Down.
    expect(rig.bfd().transitions).toBe(2);
    expect(text).toContain('lifeline_bfd_transitions_total' + peer + ' 2\n');
    expect(text).toContain('lifeline_bfd_diagnostic' + peer + ' 1\n');
    expect(text).toMatch(/lifeline_bfd_packets_total\{peer="10.200.4.2",direction="sent"\} \d+/);
    expect(text).toContain('lifeline_bfd_transmit_late_seconds_max' + peer + ' 0\n');
    const reference = readFileSync('docs/reference.md', 'utf8');
    const names = [...text.matchAll(/^# TYPE (lifeline_bfd_\S+)/gm)].map((match) => match[1]!);
    expect(names.length).toBe(5);
    expect(names.filter((name) => !reference.includes('`' + name + '`'))).toEqual([]);
    expect(reference).toContain('| `bfd` |');
  });
});

describe('BFD config', () => {
  const withBfd = (bfd: unknown) => {
    const doc = document() as any;
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [{ address: '10.0.0.9', remoteAs: 65000, nextHopV4: '192.0.2.10', bfd }],
    };
    doc.services[0].prefixes = ['192.0.2.53/32'];
    return readConfig(doc);
  };

  it('takes intervalMs, multiplier and multihop, with defaults 300 ms, 3, single hop', () => {
    expect(withBfd({}).config!.announcer.peers[0]!.bfd).toEqual({
      intervalMs: 300,
      multiplier: 3,
      multihop: false,
    });
    expect(withBfd({ intervalMs: 100, multiplier: 1, multihop: true }).errors).toBeNull();
  });

  it('refuses what it cannot honour, one PATH: PROBLEM each', () => {
    expect(withBfd({ intervalMs: 10, multiplier: 0, multihop: 'yes', echo: true }).errors).toEqual([
      'announcer.peers[0].bfd.echo: is not a known key (known: intervalMs, multiplier, multihop)',
      'announcer.peers[0].bfd.intervalMs: 10 must be an integer from 50 to 60000',
      'announcer.peers[0].bfd.multiplier: 0 must be an integer from 1 to 255',
      'announcer.peers[0].bfd.multihop: must be true or false',
    ]);
    expect(withBfd(true).errors).toEqual(['announcer.peers[0].bfd: must be an object']);
  });

  it('is refused for a board', () => {
    expect(espruinoProblems(withBfd({}).config!)).toEqual([
      'announcer.peers[0].bfd: not on Espruino (its UDP sockets cannot set or check the TTL)',
    ]);
  });
});

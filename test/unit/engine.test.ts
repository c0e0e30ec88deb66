// The scheduler and decision engine as specifications, on the sim HAL (virtual time, exact).

import { describe, expect, it } from 'vitest';

import { AutoState, Reason } from '../../firmware/decision';
import { Counter } from '../../firmware/probe-statistics';
import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { Lifeline } from '../../firmware/lifeline';
import { Behaviour, SimHal } from '../../hal/sim/index';
import { ANNOUNCE, config, simRig, WITHDRAW } from '../helpers';

describe('scheduler and decision engine (sim HAL)', () => {
  it('announces every prefix once, after `rise` healthy rounds at boot', () => {
    const rig = simRig({ rise: 3, intervalMs: 250 });
    rig.sim.runUntil(500);
    expect(rig.sim.emitted).toEqual([]);
    rig.sim.runUntil(501); // third round: sent at 500, answered after 1 ms
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
    expect(rig.sim.emittedAtMs).toEqual([501, 501]);
    rig.sim.runFor(60000);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
  });

  it('withdraws within timeoutMs + (fall-1)·intervalMs of the first unanswered probe, and says why', () => {
    const rig = simRig({ fall: 3, intervalMs: 250, timeoutMs: 200 });
    rig.sim.runUntil(600);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    const firstUnansweredMs = 750;
    rig.sim.runUntil(firstUnansweredMs + 200 + 2 * 250 - 1);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
    rig.sim.runUntil(firstUnansweredMs + 200 + 2 * 250);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    const line = rig.sim.logged.find((entry) => entry.includes('state=down'));
    expect(line).toContain(
      'reason=fall healthy=0/3 quorum=2 local=none failed=dc1(timeout),dc2(timeout),dc3(timeout)',
    );
    expect(line).toContain('streak=3 sinceMs=700');
  });

  it('keeps the service up with one dead target of three (quorum 2), withdraws with two', () => {
    const rig = simRig({ quorum: 2 });
    rig.sim.runFor(1000);
    rig.sim.setTarget(0, { behaviour: Behaviour.Silent });
    rig.sim.runFor(10000);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
    expect(rig.lifeline.healthyTargets[0]).toBe(2);
    rig.sim.setTarget(1, { behaviour: Behaviour.Refuse });
    rig.sim.runFor(2000);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(rig.sim.logged.join('\n')).toContain('failed=dc1(timeout),dc2(unreachable)');
  });

  it('withdraws when the local DNS check fails, whatever the backbone says', () => {
    const rig = simRig({ local: true });
    rig.sim.runFor(1000);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
    rig.sim.setTarget(3, { behaviour: Behaviour.Rcode, rcode: 2 }); // SERVFAIL from the local resolver
    rig.sim.runFor(1000);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(rig.sim.logged.join('\n')).toContain('healthy=3/3 quorum=2 local=failed');
    expect(rig.lifeline.probes.counter(3, Counter.WrongRcode)).toBeGreaterThanOrEqual(3);
  });

  it('holds a re-announcement back until holdDownMs after the withdrawal', () => {
    const rig = simRig({ holdDownMs: 2000, rise: 3, fall: 3 });
    rig.sim.runUntil(600);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runUntil(1450);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    rig.sim.setAll({ behaviour: Behaviour.Answer });
    rig.sim.runUntil(3449);
    expect(rig.sim.emitted.length).toBe(4);
    expect(rig.lifeline.engine.reason[0]).toBe(Reason.HeldDown);
    rig.sim.runUntil(3501); // the first round after 1450 + 2000, still healthy
    expect(rig.sim.emitted.slice(4)).toEqual(ANNOUNCE);
    expect(rig.sim.emittedAtMs[4]).toBe(3501);
  });

  it('suppresses a flapping service until its penalty decays below reuse (RFC 2439)', () => {
    const damping = {
      halfLifeMs: 60000,
      penalty: 1000,
      suppress: 1500,
      reuse: 750,
      maxSuppressMs: 600000,
    };
    const rig = simRig({ damping, rise: 1, fall: 1 });
    const flap = (): void => {
      rig.sim.setAll({ behaviour: Behaviour.Silent });
      rig.sim.runFor(500);
      rig.sim.setAll({ behaviour: Behaviour.Answer });
      rig.sim.runFor(500);
    };
    rig.sim.runFor(300);
    flap();
    expect(rig.sim.emitted.length).toBe(6); // up, down, up
    flap();
    const suppressedAt = rig.lifeline.engine.suppressedAtMs[0]!;
    expect(rig.lifeline.engine.suppressed[0]).toBe(1);
    expect(rig.lifeline.engine.state[0]).toBe(AutoState.Down);
    // ~2000 decays to 750 after log2(2000/750) half-lives = 84.9 s.
    rig.sim.runUntil(suppressedAt + 84000);
    expect(rig.lifeline.engine.state[0]).toBe(AutoState.Down);
    expect(rig.lifeline.engine.reason[0]).toBe(Reason.Suppressed);
    rig.sim.runUntil(suppressedAt + 86000);
    expect(rig.lifeline.engine.state[0]).toBe(AutoState.Up);
    expect(rig.lifeline.engine.penalty[0]).toBeLessThan(750);
  });

  it('never suppresses longer than maxSuppressMs, however often it flapped', () => {
    const damping = {
      halfLifeMs: 60000,
      penalty: 1000,
      suppress: 1500,
      reuse: 750,
      maxSuppressMs: 120000,
    };
    const rig = simRig({ damping, rise: 1, fall: 1 });
    rig.sim.runFor(300);
    for (let i = 0; i < 20; i++) {
      rig.sim.setAll({ behaviour: Behaviour.Silent });
      rig.sim.runFor(300);
      rig.sim.setAll({ behaviour: Behaviour.Answer });
      rig.sim.runFor(300);
    }
    const lastDownMs = rig.lifeline.engine.changedAtMs[0]!;
    expect(rig.lifeline.engine.penalty[0]).toBeLessThanOrEqual(750 * 4 + 1e-6); // the RFC 2439 ceiling
    rig.sim.runUntil(lastDownMs + 120000 + 250);
    expect(rig.lifeline.engine.state[0]).toBe(AutoState.Up);
  });

  it('probes at fastIntervalMs while a service is rising or falling, at intervalMs otherwise', () => {
    const rig = simRig({ intervalMs: 1000, fastIntervalMs: 100, timeoutMs: 80, rise: 3, fall: 3 });
    rig.sim.runUntil(201);
    expect(rig.sim.emitted).toEqual(ANNOUNCE); // rounds at 0, 100, 200
    rig.sim.runUntil(10000);
    expect(rig.sim.sentCount[0]).toBe(3 + 9); // then 1000, 1100... no: 1200, 2200, ... on the grid of 200
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    const before = rig.sim.sentCount[0]!;
    rig.sim.runFor(1200);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW); // 1 slow round, then 2 fast ones
    expect(rig.sim.sentCount[0]! - before).toBeGreaterThanOrEqual(3);
  });

  it('keeps rounds on a drift-free grid: exactly one round per interval over an hour', () => {
    const rig = simRig({ intervalMs: 250, timeoutMs: 200 }, 1, (sim) => {
      sim.setTarget(0, { latencyMs: 37 });
      sim.setTarget(1, { behaviour: Behaviour.Silent });
    });
    rig.sim.runUntil(3600000);
    expect(rig.sim.sentCount[0]).toBe(3600000 / 250 + 1); // rounds at 0, 250, ..., 3600000
    expect(rig.lifeline.counters.rounds).toBe(3600000 / 250); // the last one ends at its timeout
    expect(rig.lifeline.counters.roundsSkipped).toBe(0);
    expect(rig.lifeline.probes.statistics!.sentAtMs[0]).toBe(3600000);
  });

  it('a dead or slow target never delays the others; a late answer is not health', () => {
    const rig = simRig({ intervalMs: 250, timeoutMs: 200 }, 1, (sim) => {
      sim.setTarget(0, { latencyMs: 220 }); // answers after the timeout, every time
      sim.setTarget(1, { behaviour: Behaviour.Silent });
      sim.setTarget(2, { latencyMs: 3 });
    });
    rig.sim.runUntil(9999); // rounds at 0 ... 9750, all ended
    expect(rig.lifeline.probes.statistics!.rttMs[2]).toBe(3);
    expect(rig.lifeline.probes.counter(2, Counter.Healthy)).toBe(40);
    expect(rig.lifeline.probes.counter(0, Counter.Healthy)).toBe(0);
    expect(rig.lifeline.probes.counter(0, Counter.Late)).toBe(40);
    expect(rig.lifeline.probes.counter(0, Counter.Timeout)).toBe(40);
    expect(rig.sim.emitted).toEqual([...WITHDRAW]); // quorum 2 never met: withdrawn from init
  });

  it('drops and counts replies with the wrong ID, from the wrong source, or malformed', () => {
    const rig = simRig({ quorum: 1 }, 1, (sim) => {
      sim.setTarget(0, { behaviour: Behaviour.WrongId });
      sim.setTarget(1, { behaviour: Behaviour.WrongSource });
      sim.setTarget(2, { behaviour: Behaviour.Garbage });
    });
    rig.sim.runUntil(9999);
    const probes = rig.lifeline.probes;
    expect(probes.counter(0, Counter.Mismatch)).toBe(40);
    expect(probes.counter(1, Counter.WrongSource)).toBe(40);
    expect(probes.counter(2, Counter.Mismatch) + probes.counter(2, Counter.Malformed)).toBe(40);
    expect(probes.counter(0, Counter.Timeout)).toBe(40);
    for (let slot = 0; slot < 3; slot++) expect(probes.counter(slot, Counter.Healthy)).toBe(0);
    expect(rig.sim.emitted).toEqual(WITHDRAW);
  });

  it('probes TCP targets: accepted is healthy, refused or silent is not', () => {
    const rig = simRig({ targets: 0, tcpTargets: 3, quorum: 2 });
    rig.sim.runFor(1000);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
    rig.sim.setTarget(0, { behaviour: Behaviour.Refuse });
    rig.sim.setTarget(1, { behaviour: Behaviour.Silent });
    rig.sim.runFor(1000);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(rig.lifeline.probes.counter(0, Counter.SocketFailed)).toBeGreaterThanOrEqual(3);
  });

  it('with 10% loss on every target, quorum 1 of 3 and fall 3 do not flap over a simulated day', () => {
    // All three lost in one round: 1e-3; three such rounds in a row: 1e-9 per round, 3.5e5 rounds a
    // day.
    const rig = simRig({ quorum: 1, fall: 3, rise: 3 }, 7);
    rig.sim.setAll({ lossPercent: 10 });
    rig.sim.runFor(86400000);
    expect(rig.sim.emitted).toEqual(ANNOUNCE);
  });

  it('drains instead of withdrawing when configured: ExaBGP lines with the MED and communities', () => {
    const built = config({ rise: 1, fall: 1 });
    const doc = {
      ...built,
      services: [
        {
          ...built.services[0]!,
          drain: { med: 5000, communities: ['65010:666'], communityValues: [65010 * 65536 + 666] },
        },
      ],
    };
    const sim = new SimHal({ socketsMax: 8, seed: 1 });
    const lifeline = new Lifeline(doc, sim, new ExaBgpAnnouncer(doc, sim));
    lifeline.start();
    sim.runFor(300);
    sim.setAll({ behaviour: Behaviour.Silent });
    sim.runFor(500);
    expect(sim.emitted.slice(2)).toEqual([
      'announce route 192.0.2.53/32 next-hop self med 5000 community [ 65010:666 ]',
      'announce route 2001:db8:53::/48 next-hop self med 5000 community [ 65010:666 ]',
    ]);
  });

  it('shuts down by withdrawing every prefix, or keeps them when configured', () => {
    const rig = simRig();
    rig.sim.runFor(1000);
    rig.lifeline.stop();
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(config().announcer.onShutdown).toBe('withdraw');
  });
});

// The decision engine on its own (firmware/decision.ts), round by round at chosen times: the edges
// of the hold-down and of flap damping (RFC 2439: suppress at the threshold, reuse below it, never
// longer than maxSuppressMs, a ceiling on the penalty), when it probes at the fast interval, and
// where a streak starts. The mutation run found these edges unpinned by the scenario tests.

import { describe, expect, it } from 'vitest';

import type { ServiceConfig } from '../../firmware/config';
import { AutoState, DecisionEngine, Reason } from '../../firmware/decision';

interface Damping {
  halfLifeMs: number;
  penalty: number;
  suppress: number;
  reuse: number;
  maxSuppressMs: number;
}

function service(options: { holdDownMs?: number; damping?: Damping | null }): ServiceConfig {
  return {
    name: 'dns',
    quorum: 1,
    rise: 1,
    fall: 1,
    holdDownMs: options.holdDownMs ?? 0,
    damping: options.damping ?? null,
  } as unknown as ServiceConfig;
}

/** One round of service `s` ending at `nowMs`, healthy or not. */
function round(engine: DecisionEngine, healthy: boolean, nowMs: number, s = 0): void {
  engine.step(s, healthy ? 1 : 0, true, nowMs - 100, nowMs);
}

/** Up, down, up, down... `withdrawals` times at `nowMs` (rise and fall 1: a round each). */
function flap(engine: DecisionEngine, withdrawals: number, nowMs: number, s = 0): void {
  for (let i = 0; i < withdrawals; i++) {
    round(engine, true, nowMs, s);
    round(engine, false, nowMs, s);
  }
}

const DAMPING: Damping = {
  halfLifeMs: 1000,
  penalty: 750,
  suppress: 1500,
  reuse: 750,
  maxSuppressMs: 3000,
};

describe('decision engine: the edges', () => {
  it('re-announces exactly holdDownMs after the last change, held down a moment before', () => {
    const engine = new DecisionEngine([service({ holdDownMs: 3000 })]);
    round(engine, true, 0);
    round(engine, false, 1000);
    expect(engine.state[0]).toBe(AutoState.Down);
    round(engine, true, 3999);
    expect(engine.state[0]).toBe(AutoState.Down);
    expect(engine.reason[0]).toBe(Reason.HeldDown);
    round(engine, true, 4000);
    expect(engine.state[0]).toBe(AutoState.Up);
    expect(engine.reason[0]).toBe(Reason.Rise);
  });

  it('suppresses when the penalty reaches the threshold, not only past it', () => {
    const engine = new DecisionEngine([service({ damping: DAMPING })]);
    flap(engine, 1, 0);
    expect(engine.suppressed[0]).toBe(0);
    flap(engine, 1, 0); // 750 + 750 = 1500, the threshold
    expect(engine.penalty[0]).toBe(1500);
    expect(engine.suppressed[0]).toBe(1);
    round(engine, true, 0);
    expect(engine.state[0]).toBe(AutoState.Down);
    expect(engine.reason[0]).toBe(Reason.Suppressed);
  });

  it('reuses once the penalty is below `reuse`, not at it', () => {
    const engine = new DecisionEngine([service({ damping: DAMPING })]);
    flap(engine, 2, 0);
    engine.decay(0, 1000); // one half-life: 750, the reuse threshold itself
    expect(engine.penalty[0]).toBe(750);
    expect(engine.suppressed[0]).toBe(1);
    engine.decay(0, 1001);
    expect(engine.suppressed[0]).toBe(0);
  });

  it('caps the penalty at the ceiling, and ends a suppression at maxSuppressMs exactly', () => {
    // The ceiling decays to `reuse` in exactly maxSuppressMs: 750 · 2^3.
    const suppressed = (): DecisionEngine => {
      const engine = new DecisionEngine([service({ damping: { ...DAMPING, penalty: 10000 } })]);
      flap(engine, 1, 0);
      return engine;
    };
    const early = suppressed();
    expect(early.penalty[0]).toBe(6000);
    expect(early.suppressed[0]).toBe(1);
    early.decay(0, 2999);
    expect(early.suppressed[0]).toBe(1);
    // At 3,000 ms the penalty is `reuse` itself (not below it): the time limit lifts it.
    const engine = suppressed();
    engine.decay(0, 3000);
    expect(engine.penalty[0]).toBe(750);
    expect(engine.suppressed[0]).toBe(0);
  });

  it('damps each service by its own settings', () => {
    const engine = new DecisionEngine([service({}), service({}), service({ damping: DAMPING })]);
    for (let s = 0; s < 3; s++) flap(engine, 2, 0, s);
    expect([...engine.suppressed]).toEqual([0, 0, 1]);
    expect([...engine.penalty]).toEqual([0, 0, 1500]);
  });

  it('probes fast while a rise or a fall is under way, not while suppressed or settled', () => {
    const engine = new DecisionEngine([service({ damping: DAMPING }), service({})]);
    engine['rise'][1] = 3; // a rise of three rounds for service 1
    engine['fall'][1] = 3;
    expect(engine.inTransition(1)).toBe(true); // init
    for (let i = 0; i < 3; i++) round(engine, true, 1000 * i, 1);
    expect(engine.inTransition(1)).toBe(false); // up, nothing failing
    round(engine, false, 3000, 1);
    expect(engine.inTransition(1)).toBe(true); // a fall under way
    round(engine, false, 4000, 1);
    round(engine, false, 5000, 1);
    expect(engine.state[1]).toBe(AutoState.Down);
    expect(engine.inTransition(1)).toBe(false); // down, nothing answering
    round(engine, true, 6000, 1);
    expect(engine.inTransition(1)).toBe(true); // a rise under way
    flap(engine, 2, 0, 0);
    round(engine, true, 0, 0);
    expect(engine.suppressed[0]).toBe(1);
    expect(engine.inTransition(0)).toBe(false); // suppressed: no rise to hurry
  });

  it('starts a streak at its first round, and keeps that start while it runs', () => {
    const engine = new DecisionEngine([service({})]);
    engine['rise'][0] = 3;
    round(engine, true, 1000);
    round(engine, true, 2000);
    expect(engine.streakStartMs[0]).toBe(900);
    round(engine, false, 3000);
    round(engine, false, 4000);
    expect(engine.streakStartMs[0]).toBe(2900);
  });
});

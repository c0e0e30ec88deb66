// The decision engine: per service, turns each completed probe round into the automatic state
// ANNOUNCE or WITHDRAW, with hysteresis. A round is healthy when at least `quorum` backbone targets
// and the local check passed. `fall` unhealthy rounds in a row withdraw; `rise` healthy rounds in a
// row re-announce, but not within `holdDownMs` of the last change, nor while flap damping (RFC 2439
// style: a penalty per withdrawal, decaying with a half-life) suppresses the service. All state
// lives in typed arrays sized at boot; a step allocates nothing.

import { assert } from './assert';
import type { ServiceConfig } from './config';
import { Bug, planted } from './planted';
import { typed } from './slab';

/** Automatic state of a service. INIT: not decided yet since boot, nothing announced. */
export const enum AutoState {
  Init = 0,
  Up = 1,
  Down = 2,
}

export const AUTO_STATE_NAMES: readonly string[] = ['init', 'up', 'down'];

/** Why the last transition (or the last refusal to re-announce) happened. */
export const enum Reason {
  None = 0,
  /** `rise` healthy rounds in a row. */
  Rise = 1,
  /** `fall` unhealthy rounds in a row. */
  Fall = 2,
  /** Healthy enough to rise, held back by `holdDownMs` since the last change. */
  HeldDown = 3,
  /** Healthy enough to rise, held back by the flap penalty. */
  Suppressed = 4,
}

export const REASON_NAMES: readonly string[] = ['none', 'rise', 'fall', 'held-down', 'suppressed'];

/** Returned by `step`: whether the automatic state changed in this round. */
export const enum Step {
  Unchanged = 0,
  Changed = 1,
}

export class DecisionEngine {
  readonly serviceCount: number;
  readonly state: Uint8Array;
  readonly reason: Uint8Array;
  readonly healthyStreak: Uint32Array;
  readonly unhealthyStreak: Uint32Array;
  /** Clock time of the last change of `state`; -Infinity before the first. */
  readonly changedAtMs: Float64Array;
  /**
   * Clock time at which the current unhealthy or healthy streak began (its first round's start).
   */
  readonly streakStartMs: Float64Array;
  readonly penalty: Float64Array;
  readonly penaltyAtMs: Float64Array;
  readonly suppressed: Uint8Array;
  readonly suppressedAtMs: Float64Array;
  readonly transitions: Uint32Array;
  private readonly quorum: Uint16Array;
  private readonly rise: Uint32Array;
  private readonly fall: Uint32Array;
  private readonly holdDownMs: Float64Array;
  /**
   * Damping per service: halfLifeMs (0 = off), penalty, suppress, reuse, maxSuppressMs, ceiling.
   */
  private readonly damping: Float64Array;
  /** Planted bugs (firmware/planted.ts): 1 withdraws a round early, 0 ignores the hold-down. */
  private readonly fallEarly: number;
  private readonly holdDownFactor: number;

  constructor(services: readonly ServiceConfig[]) {
    const count = services.length;
    assert(count > 0, 'at least one service');
    this.serviceCount = count;
    this.state = typed(Uint8Array, 1, count);
    this.reason = typed(Uint8Array, 1, count);
    this.healthyStreak = typed(Uint32Array, 4, count);
    this.unhealthyStreak = typed(Uint32Array, 4, count);
    this.changedAtMs = typed(Float64Array, 8, count).fill(-Infinity);
    this.streakStartMs = typed(Float64Array, 8, count);
    this.penalty = typed(Float64Array, 8, count);
    this.penaltyAtMs = typed(Float64Array, 8, count);
    this.suppressed = typed(Uint8Array, 1, count);
    this.suppressedAtMs = typed(Float64Array, 8, count);
    this.transitions = typed(Uint32Array, 4, count);
    this.quorum = typed(Uint16Array, 2, count);
    this.rise = typed(Uint32Array, 4, count);
    this.fall = typed(Uint32Array, 4, count);
    this.holdDownMs = typed(Float64Array, 8, count);
    this.damping = typed(Float64Array, 8, count * 6);
    this.fallEarly = (planted.bugs & Bug.FallEarly) !== 0 ? 1 : 0;
    this.holdDownFactor = (planted.bugs & Bug.HoldDownIgnored) !== 0 ? 0 : 1;
    for (let s = 0; s < count; s++) {
      const service = services[s]!;
      this.quorum[s] = service.quorum;
      this.rise[s] = service.rise;
      this.fall[s] = service.fall;
      this.holdDownMs[s] = service.holdDownMs;
      const damping = service.damping;
      if (damping === null) continue;
      const base = s * 6;
      this.damping[base] = damping.halfLifeMs;
      this.damping[base + 1] = damping.penalty;
      this.damping[base + 2] = damping.suppress;
      this.damping[base + 3] = damping.reuse;
      this.damping[base + 4] = damping.maxSuppressMs;
      // RFC 2439 4.2: the ceiling is the penalty that decays to `reuse` in exactly maxSuppressMs.
      this.damping[base + 5] =
        damping.reuse * Math.pow(2, damping.maxSuppressMs / damping.halfLifeMs);
    }
  }

  /** True while the service is part-way through a rise or a fall: probe at the fast interval. */
  inTransition(s: number): boolean {
    const state = this.state[s];
    if (state === AutoState.Init) return true;
    if (state === AutoState.Up) return this.unhealthyStreak[s]! > 0;
    return this.healthyStreak[s]! > 0 && this.suppressed[s] === 0;
  }

  /**
   * The flap penalty of service `s` decayed to `nowMs`; lifts suppression once it is below `reuse`.
   */
  decay(s: number, nowMs: number): void {
    const base = s * 6;
    const halfLifeMs = this.damping[base]!;
    if (halfLifeMs === 0) return;
    const elapsedMs = nowMs - this.penaltyAtMs[s]!;
    if (elapsedMs > 0) {
      this.penalty[s] = this.penalty[s]! * Math.pow(2, -elapsedMs / halfLifeMs);
      this.penaltyAtMs[s] = nowMs;
    }
    if (this.suppressed[s] === 1) {
      const suppressedMs = nowMs - this.suppressedAtMs[s]!;
      if (this.penalty[s]! < this.damping[base + 3]! || suppressedMs >= this.damping[base + 4]!) {
        this.suppressed[s] = 0;
      }
    }
  }

  private change(s: number, next: AutoState, reason: Reason, nowMs: number): Step {
    const previous = this.state[s];
    assert(
      next !== previous && next !== AutoState.Init,
      'a transition changes the state and never returns to init',
    );
    // The rules of "How it decides", checked on the write side: a bug trips here, not downstream.
    if (next === AutoState.Down) {
      assert(this.unhealthyStreak[s]! >= this.fall[s]!, 'a withdrawal comes after `fall` rounds');
    } else {
      assert(this.healthyStreak[s]! >= this.rise[s]!, 'an announcement comes after `rise` rounds');
      assert(this.suppressed[s] === 0, 'a suppressed service is not announced');
      assert(
        nowMs - this.changedAtMs[s]! >= this.holdDownMs[s]!,
        'an announcement waits out the hold-down',
      );
    }
    this.state[s] = next;
    this.reason[s] = reason;
    this.changedAtMs[s] = nowMs;
    this.transitions[s] = this.transitions[s]! + 1;
    const base = s * 6;
    // A withdrawal after being up adds to the flap penalty (with damping on), and may suppress.
    if (next === AutoState.Down && previous === AutoState.Up && this.damping[base] !== 0) {
      this.penalty[s] = Math.min(
        this.penalty[s]! + this.damping[base + 1]!,
        this.damping[base + 5]!,
      );
      this.penaltyAtMs[s] = nowMs;
      if (this.suppressed[s] === 0 && this.penalty[s]! >= this.damping[base + 2]!) {
        this.suppressed[s] = 1;
        this.suppressedAtMs[s] = nowMs;
      }
    }
    return Step.Changed;
  }

  /**
   * One completed round of service `s`: `healthyTargets` backbone targets answered, `localOk` the
   * local check (true when there is none), the round started at `roundStartMs`, ends at `nowMs`.
   */
  step(
    s: number,
    healthyTargets: number,
    localOk: boolean,
    roundStartMs: number,
    nowMs: number,
  ): Step {
    assert(s >= 0 && s < this.serviceCount && healthyTargets >= 0, 'step of a known service');
    const healthy = healthyTargets >= this.quorum[s]! && localOk;
    if (healthy) {
      if (this.healthyStreak[s] === 0) this.streakStartMs[s] = roundStartMs;
      this.healthyStreak[s] = this.healthyStreak[s]! + 1;
      this.unhealthyStreak[s] = 0;
    } else {
      if (this.unhealthyStreak[s] === 0) this.streakStartMs[s] = roundStartMs;
      this.unhealthyStreak[s] = this.unhealthyStreak[s]! + 1;
      this.healthyStreak[s] = 0;
    }
    assert(
      (this.healthyStreak[s] === 0) !== (this.unhealthyStreak[s] === 0),
      'one streak runs at a time',
    );
    // Without damping there is nothing to decay: not even the call, which a board pays for.
    if (this.damping[s * 6] !== 0) this.decay(s, nowMs);
    const state = this.state[s];
    if (!healthy) {
      if (state !== AutoState.Down && this.unhealthyStreak[s]! >= this.fall[s]! - this.fallEarly) {
        return this.change(s, AutoState.Down, Reason.Fall, nowMs);
      }
      return Step.Unchanged;
    }
    if (state === AutoState.Up || this.healthyStreak[s]! < this.rise[s]!) return Step.Unchanged;
    if (this.suppressed[s] === 1) {
      this.reason[s] = Reason.Suppressed;
      return Step.Unchanged;
    }
    if (nowMs - this.changedAtMs[s]! < this.holdDownMs[s]! * this.holdDownFactor) {
      this.reason[s] = Reason.HeldDown;
      return Step.Unchanged;
    }
    return this.change(s, AutoState.Up, Reason.Rise, nowMs);
  }
}

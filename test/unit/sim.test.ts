// The deterministic simulator (sim/, README "Deterministic simulation") as a test: a bounded
// campaign of seeded fault schedules with every invariant checked after every event; exact replay;
// the shrinker; the bugs it found, kept by seed; the bugs planted to prove it has teeth; and the
// exhaustive search of the decision engine and the override arbiter.

import { describe, expect, it } from 'vitest';

import { Bug } from '../../firmware/planted';
import { exhaustive } from '../../sim/exhaustive';
import { campaign, runSchedule, runSeed, shrink, type RunResult } from '../../sim/run';
import { drawSchedule, type SimEvent } from '../../sim/schedule';

const SCHEDULE_MS = 300 * 1000;

/** The first of seeds 1..limit whose run fails, with `bugs` planted (null: none failed). */
function firstFailing(
  options: { bugs?: number; tornReplace?: boolean },
  limit: number,
): RunResult | null {
  for (let seed = 1; seed <= limit; seed++) {
    const result = runSeed({ seed, durationMs: SCHEDULE_MS, ...options });
    if (result.invariant !== '') return result;
  }
  return null;
}

const at = (atMs: number, kind: SimEvent['kind'], a = 0, b = 0, text = ''): SimEvent => ({
  atMs,
  kind,
  a,
  b,
  text,
});

describe('deterministic simulation', () => {
  it('runs a bounded campaign: every invariant holds on thousands of seeded fault schedules', () => {
    const result = campaign(
      { first: 1, count: 3000, durationMs: SCHEDULE_MS, wallMsMax: 60000 },
      () => performance.now(),
    );
    const hours = result.simulatedMs / 3600000;
    console.log(
      'sim campaign: ' +
        result.runs +
        ' schedules, ' +
        hours.toFixed(1) +
        ' simulated hours, ' +
        result.checks +
        ' checks in ' +
        (result.wallMs / 1000).toFixed(1) +
        ' s: ' +
        (hours / (result.wallMs / 1000)).toFixed(1) +
        ' simulated h/s, ' +
        Math.round((result.runs * 60000) / result.wallMs) +
        ' schedules/min',
    );
    expect(result.failures.map((f) => f.seed + ': ' + f.invariant + ' ' + f.detail)).toEqual([]);
    expect(result.runs).toBeGreaterThan(500);
  });

  it('replays a seed exactly: the same trace and the same durable state, byte for byte', () => {
    for (const seed of [7, 1257, 934]) {
      const first = runSeed({ seed, durationMs: SCHEDULE_MS });
      const second = runSeed({ seed, durationMs: SCHEDULE_MS });
      expect(second.trace.join('\n')).toBe(first.trace.join('\n'));
      expect(second.final).toBe(first.final);
      expect(first.trace.length).toBeGreaterThan(20);
    }
  });

  it('shrinks a failing schedule to the few events that matter', () => {
    const options = { seed: 1257, durationMs: SCHEDULE_MS, bugs: Bug.UsedCodeForgotten };
    const schedule = drawSchedule(1257, SCHEDULE_MS);
    const failed = runSchedule(options, schedule);
    expect(failed.invariant).not.toBe('');
    const small = shrink(options, schedule, failed.invariant);
    expect(small.length).toBeLessThan(schedule.length / 4);
    expect(runSchedule(options, small).invariant).toBe(failed.invariant);
  });
});

describe('bugs the simulator found, kept by seed', () => {
  it('seed 1257: a power cut tearing an append to recovery-used no longer lets a used code in again', () => {
    // Shrunk: a torn append of code 2's hash, then code 0's hash appended onto the torn line; a
    // restart read that line whole, did not know code 0, and took it a second time.
    const small = [
      at(53358, 'power-cut'),
      at(56157, 'code', 2),
      at(90436, 'code', 0),
      at(91585, 'power-cut'),
      at(202490, 'login'),
      at(209912, 'code', 0),
    ];
    expect(runSchedule({ seed: 1257, durationMs: SCHEDULE_MS }, small).invariant).toBe('');
    expect(runSeed({ seed: 1257, durationMs: SCHEDULE_MS }).invariant).toBe('');
  });

  it('seed 934: an override whose time cannot be written ends, so a clock at 1970 cannot revive it', () => {
    // Shrunk: `withdraw for 19s`, a clean stop (overrides.json exact, 19 s left), a full disk at
    // the restart and at the expiry, then kill -9 and the wall clock at 1970: the stale file gave
    // the override its 19 s again.
    const small = [
      at(18194, 'login'),
      at(49112, 'type', 0, 0, 'withdraw for 19s\n'),
      at(49113, 'stop', 5000),
      at(51125, 'disk-full'),
      at(146661, 'crash', 0, -1000000146661),
    ];
    expect(runSchedule({ seed: 934, durationMs: SCHEDULE_MS }, small).invariant).toBe('');
    expect(runSeed({ seed: 934, durationMs: SCHEDULE_MS }).invariant).toBe('');
  });
});

describe('the simulator keeps its teeth: each planted bug is found within a bounded number of seeds', () => {
  const planted: [string, { bugs?: number; tornReplace?: boolean }, number][] = [
    ['a boot wedged by a corrupt overrides.json', { bugs: Bug.CorruptOverridesThrow }, 300],
    ['an override change answered OK but lost on a full disk', { bugs: Bug.OkWithoutSave }, 300],
    // It needs a timed override, a kill -9 with the clock behind, then the grant run out: rarer.
    [
      'an override restored for a year when the clock was wrong',
      { bugs: Bug.WallClockTrusted },
      1500,
    ],
    [
      'a used recovery code accepted again after a storage fault',
      { bugs: Bug.UsedCodeForgotten },
      300,
    ],
    ['a withdrawal one unhealthy round early', { bugs: Bug.FallEarly }, 300],
    ['a re-announcement within the hold-down', { bugs: Bug.HoldDownIgnored }, 300],
    ['a route change by the pin without an audit record', { bugs: Bug.PinUnaudited }, 300],
    ['a console override that beats the pin', { bugs: Bug.PinBeatenByConsole }, 300],
    ['a replace torn by a power cut (a HAL bug)', { tornReplace: true }, 300],
  ];
  for (const [name, options, limit] of planted) {
    it('finds ' + name, () => {
      const found = firstFailing(options, limit);
      expect(found, 'not found in ' + limit + ' seeds').not.toBeNull();
      console.log('planted: ' + name + ': seed ' + found!.seed + ', ' + found!.invariant);
    });
  }
});

describe('exhaustive check of the decision engine and the override arbiter', () => {
  it('visits every reachable state for rise and fall 1-3, a hold-down, damping, pin and overrides', () => {
    const result = exhaustive([2000]);
    console.log(result.lines[result.lines.length - 1]);
    expect(result.states).toBeGreaterThan(100000);
  });
});

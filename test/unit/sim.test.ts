// The deterministic simulator (sim/, README "Deterministic simulation") as a test: a campaign of
// seeded fault schedules with every invariant checked after every event (its first seeds here, the
// rest in test/integration/sim-campaign.test.ts); exact replay; the shrinker; the bugs it found,
// kept by seed; the bugs planted to prove it has teeth, each found by the invariant meant for it
// within its bound; and the exhaustive search shown to find a planted bug.

import { describe, expect, it } from 'vitest';

import { Bug } from '../../firmware/planted';
import { main } from '../../sim/cli';
import { exhaustive } from '../../sim/exhaustive';
import { PLANTED, PLANTED_SCHEDULE_MS } from '../../sim/planted';
import { campaign, runSchedule, runSeed, shrink } from '../../sim/run';
import { drawSchedule, type SimEvent } from '../../sim/schedule';
import { expectFound, UNIT_PLANTED_SEEDS_MAX, UNIT_SEEDS } from '../support/sim';

const SCHEDULE_MS = PLANTED_SCHEDULE_MS;

const at = (atMs: number, kind: SimEvent['kind'], a = 0, b = 0, text = ''): SimEvent => ({
  atMs,
  kind,
  a,
  b,
  text,
});

describe('deterministic simulation', () => {
  it('runs a campaign: every invariant holds on each of its seeded fault schedules', () => {
    const result = campaign({ first: 1, count: UNIT_SEEDS, durationMs: SCHEDULE_MS }, () =>
      performance.now(),
    );
    expect(result.failures.map((f) => f.seed + ': ' + f.invariant + ' ' + f.detail)).toEqual([]);
    expect(result.runs).toBe(UNIT_SEEDS);
    // Every schedule ran its whole length: the simulated time is the seeds' sum, at the least.
    expect(result.simulatedMs).toBeGreaterThanOrEqual(UNIT_SEEDS * SCHEDULE_MS);
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

describe('the simulator keeps its teeth: each planted bug is found as meant, within its bound', () => {
  for (const planted of PLANTED.filter((p) => p.seedsMax <= UNIT_PLANTED_SEEDS_MAX)) {
    it('finds ' + planted.description + ' (' + planted.invariant + ')', () => expectFound(planted));
  }

  it('holds every planted bug to twice the seed that found it at calibration', () => {
    expect(PLANTED).toHaveLength(9);
    for (const planted of PLANTED) expect(planted.seedsMax).toBe(2 * planted.calibratedSeed);
  });
});

describe('exhaustive check of the decision engine and the override arbiter', () => {
  it('finds a console override beating the pin (planted) in the states it visits', () => {
    expect(() => exhaustive({ bugs: Bug.PinBeatenByConsole })).toThrow(
      'exhaustive: routes as arbitrated',
    );
  });
});

describe('the command line (npm run sim)', () => {
  const run = (...argv: string[]): { status: number; lines: string[] } => {
    const lines: string[] = [];
    const status = main(argv, (line) => lines.push(line));
    return { status, lines };
  };

  it('prints its usage for --help, and with it for an unknown flag (exit 2)', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.lines[0]).toBe('usage: npm run sim -- [options]');
    for (const flag of ['--seeds', '--seed', '--exhaustive', '--bug', '--calibrate', '--fleet'])
      expect(help.lines.join('\n')).toContain('  ' + flag + ' ');
    const wrong = run('--seedz', '3');
    expect(wrong.status).toBe(2);
    expect(wrong.lines.slice(0, 2)).toEqual(['sim: unknown argument --seedz', help.lines[0]]);
    expect(run('--bug', 'nope').lines[0]).toMatch(/^sim: --bug needs one of corrupt-overrides, /);
  });

  it('replays the calibration of a planted bug, and plants one in a single seed', () => {
    const calibrated = run('--calibrate', '--bug', 'pin-unaudited');
    expect(calibrated).toEqual({
      status: 0,
      lines: [
        'pin-unaudited: seed 1, every route change has an audit record: service 0 at 86 ' +
          '(as calibrated: seed 1)',
      ],
    });
    const missed = run('--calibrate', '--bug', 'pin-beaten-by-console', '--seeds', '3');
    expect(missed.status).toBe(1);
    expect(missed.lines[0]).toMatch(
      /^pin-beaten-by-console: not found in seeds 1\.\.3 \(expected /,
    );
    const planted = run('--seed', '1', '--seconds', '300', '--bug', 'pin-unaudited');
    expect(planted.status).toBe(1);
    expect(planted.lines[0]).toBe('violation: every route change has an audit record');
    expect(run('--seed', '1', '--seconds', '300').status).toBe(0);
  });
});

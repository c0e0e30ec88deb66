// The deterministic simulator's long checks, in the integration tier for their length (about a
// minute each on two cores): the rest of the campaign's seeds after the unit tier's, every one run
// whatever the wall clock; the planted bug that takes hundreds of seeds to find; and the exhaustive
// search of the decision engine and the override arbiter with its exact count of states.

import { describe, expect, it } from 'vitest';

import { exhaustive } from '../../sim/exhaustive';
import { PLANTED, PLANTED_SCHEDULE_MS } from '../../sim/planted';
import { campaign } from '../../sim/run';
import { CAMPAIGN_SEEDS, expectFound, UNIT_PLANTED_SEEDS_MAX, UNIT_SEEDS } from '../support/sim';

/** Generous: the search takes about a minute on a quiet machine, three under load. */
const LONG_MS = 600000;

describe('deterministic simulation, the long part', () => {
  it(
    'runs the rest of the campaign: every invariant holds on each of its seeds',
    () => {
      const count = CAMPAIGN_SEEDS - UNIT_SEEDS;
      const result = campaign(
        { first: UNIT_SEEDS + 1, count, durationMs: PLANTED_SCHEDULE_MS },
        () => performance.now(),
      );
      const hours = result.simulatedMs / 3600000;
      console.log(
        'sim campaign, seeds ' +
          (UNIT_SEEDS + 1) +
          '..' +
          CAMPAIGN_SEEDS +
          ': ' +
          hours.toFixed(1) +
          ' simulated hours, ' +
          result.checks +
          ' checks in ' +
          (result.wallMs / 1000).toFixed(1) +
          ' s',
      );
      expect(result.failures.map((f) => f.seed + ': ' + f.invariant + ' ' + f.detail)).toEqual([]);
      expect(result.runs).toBe(count);
      expect(result.simulatedMs).toBeGreaterThanOrEqual(count * PLANTED_SCHEDULE_MS);
    },
    LONG_MS,
  );

  const rare = PLANTED.filter((planted) => planted.seedsMax > UNIT_PLANTED_SEEDS_MAX);
  it('leaves only the wall-clock bug to this tier', () => {
    expect(rare.map((planted) => planted.name)).toEqual(['wall-clock-trusted']);
  });
  for (const planted of rare) {
    it(
      'finds ' + planted.description + ' (' + planted.invariant + ')',
      () => expectFound(planted),
      LONG_MS,
    );
  }

  it(
    'visits every reachable state for rise and fall 1-3, a hold-down, damping, pin and overrides',
    () => {
      const result = exhaustive({ holdDownsMs: [2000] });
      console.log(result.lines[result.lines.length - 1]);
      expect(result.states).toBe(357598);
    },
    LONG_MS,
  );
});

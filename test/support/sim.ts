// The simulator's test in two tiers: the campaign's seeds and the planted bugs each tier searches
// (test/unit/sim.test.ts, test/integration/sim-campaign.test.ts), and the check that a planted
// bug is found as meant.

import { expect } from 'vitest';

import { firstFailing, PLANTED_SCHEDULE_MS, type PlantedCase } from '../../sim/planted';

/** The campaign: seeds 1..CAMPAIGN_SEEDS of 300 s, every one run, in `npm test`. */
export const CAMPAIGN_SEEDS = 3000;

/** The campaign's seeds in the unit tier: 1..UNIT_SEEDS (the integration tier runs the rest). */
export const UNIT_SEEDS = 200;

/** Planted bugs found within this many seeds are searched in the unit tier, rarer ones after. */
export const UNIT_PLANTED_SEEDS_MAX = 100;

/** Seeds 1..seedsMax find `planted`, by the invariant and the rule meant for it. */
export function expectFound(planted: PlantedCase): void {
  const options = { seedsMax: planted.seedsMax, durationMs: PLANTED_SCHEDULE_MS };
  const found = firstFailing(planted, options);
  expect(found, planted.name + ': not found in ' + planted.seedsMax + ' seeds').not.toBeNull();
  const what = planted.name + ' at seed ' + found!.seed + ': ' + found!.detail.split('\n')[0];
  expect(found!.invariant, what).toBe(planted.invariant);
  expect(found!.detail, what).toContain(planted.detail);
}

// Issue 12, item 4: 20 Lifeline sites over simulated days of random common-mode and partial
// faults (sim/fleet.ts). The prefix never drops below `minHealthySites` announcing sites while no
// operator withdrew it, a healthy site is never held back by the guard, route changes per site
// stay within their bound, and a site that falls alone leaves (issue 20: also when the reflector
// carries only IPv4 to dual-stack sites, or adds paths that cannot be sites). Longer campaigns:
// `npm run sim -- --fleet --days 7 --seeds 4`.

import { describe, expect, it } from 'vitest';

import { FAMILY_IPV4 } from '../../firmware/bgp/codec';
import { describeFleetRun, runFleet, type FleetSimOptions } from '../../sim/fleet';

describe('fleet of 20 sites (sim HAL)', () => {
  it.each([
    [12, 2, 2],
    [7, 1, 1],
  ])(
    'seed %i, minHealthySites %i: the prefix stays up through %i simulated days of faults',
    (seed, minHealthySites, days) => {
      const options: FleetSimOptions = {
        seed,
        sites: 20,
        durationMs: days * 24 * 3600000,
        minHealthySites,
        rejoinSpreadMs: 30000,
        faultEveryMs: 20 * 60000,
        // A reflector that passes changes on 300 ms late: the sites that fail together cannot
        // see one another fall at once (the race test/integration/fleet-guard-bird.test.ts saw on BIRD).
        propagationMs: 300,
      };
      const result = runFleet(options, () => performance.now());
      const line = describeFleetRun(options, result);
      console.log(line);
      expect(result.violations, line).toEqual([]);
      expect(result.belowFloorMs).toBe(0);
      // The schedule really hit the fleet: faults, whole-fleet outages the guard rode out, and a
      // floor that was crossed.
      expect(result.faults).toBeGreaterThan(30 * days);
      expect(result.allDownMs).toBeGreaterThan(60000);
      expect(result.crossings).toBeGreaterThan(2);
      expect(result.checks).toBeGreaterThan(100000);
    },
    60000,
  );

  it('dual-stack sites behind a reflector that carries only IPv4: a site that falls alone still leaves', () => {
    // Issue 20: the IPv6 prefix, which no session carries, counted 0 sites for ever, and every
    // site that fell alone was held as last resort until it recovered.
    const options: FleetSimOptions = {
      seed: 7,
      sites: 20,
      durationMs: 12 * 3600000,
      minHealthySites: 1,
      rejoinSpreadMs: 30000,
      faultEveryMs: 20 * 60000,
      propagationMs: 300,
      dualStack: true,
      reflectorFamilies: FAMILY_IPV4,
    };
    const result = runFleet(options, () => performance.now());
    const line = describeFleetRun(options, result);
    console.log(line);
    expect(result.violations, line).toEqual([]);
    expect(result.belowFloorMs).toBe(0);
    expect(result.releases).toBeGreaterThan(50);
    expect(result.allDownMs).toBeGreaterThan(60000);
  }, 60000);

  it('paths with site communities that cannot be sites (made up by the router, leaked in) do not count', () => {
    // Issue 20: counted, they were other sites announcing normally, and a whole-fleet cut took
    // every site out.
    const options: FleetSimOptions = {
      seed: 12,
      sites: 20,
      durationMs: 12 * 3600000,
      minHealthySites: 2,
      rejoinSpreadMs: 30000,
      faultEveryMs: 20 * 60000,
      propagationMs: 300,
      dualStack: true,
      bogusPaths: 4,
    };
    const result = runFleet(options, () => performance.now());
    const line = describeFleetRun(options, result);
    console.log(line);
    expect(result.violations, line).toEqual([]);
    expect(result.belowFloorMs).toBe(0);
    expect(result.allDownMs).toBeGreaterThan(60000);
  }, 60000);

  it('without the settle (settleMs 0) sites failing together withdraw on a stale view: below the floor', () => {
    // The model's delay matters: the same day with changes passed on at once shows nothing.
    const options: FleetSimOptions = {
      seed: 12,
      sites: 20,
      durationMs: 24 * 3600000,
      minHealthySites: 2,
      rejoinSpreadMs: 30000,
      faultEveryMs: 20 * 60000,
      propagationMs: 300,
      settleMs: 0,
    };
    const stale = runFleet(options, () => performance.now());
    expect(stale.belowFloorMs).toBeGreaterThan(0);
    expect(stale.violations[0]).toMatch(/^fleet-floor at \d+ ms: [01] sites announce, min 2$/);
    const instant = runFleet({ ...options, propagationMs: 0 }, () => performance.now());
    expect(instant.belowFloorMs).toBe(0);
  }, 60000);
});

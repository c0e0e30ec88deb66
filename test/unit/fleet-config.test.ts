// The `fleet` and `guard` sections (docs/reference.md, "Fleet and guard"): defaults, every problem
// as `PATH: PROBLEM`, and the check-config note for drained services.

import { describe, expect, it } from 'vitest';

import { configNotes, readConfig } from '../../config/validate';
import { document } from '../helpers';

function withFleet(fleet: unknown, guard?: unknown): Record<string, unknown> {
  const doc = document();
  doc['fleet'] = fleet;
  if (guard !== undefined) doc['guard'] = guard;
  return doc;
}

describe('fleet config', () => {
  it('fills in the documented defaults and parses the communities', () => {
    const result = readConfig(
      withFleet({ siteCommunity: '65010:1', lastResortCommunity: '65010:666' }),
    );
    expect(result.errors).toBeNull();
    expect(result.config!.fleet).toEqual({
      siteCommunity: '65010:1',
      siteCommunityValue: 65010 * 65536 + 1,
      lastResortCommunity: '65010:666',
      lastResortCommunityValue: 65010 * 65536 + 666,
      lastResortMed: -1,
      siteAs: [],
      maxSites: 16,
      minHealthySites: 1,
      whenUnknown: 'local',
      rejoinSpreadMs: 0,
      settleMs: 2000,
    });
    expect(result.config!.guard).toBeNull();
    expect(readConfig(document()).config!.fleet).toBeNull();
  });

  it('reports every problem with its path', () => {
    const result = readConfig(
      withFleet(
        {
          siteCommunity: '65010:1',
          lastResortCommunity: '65010:1',
          lastResortMed: -5,
          maxSites: 4,
          minHealthySites: 5,
          whenUnknown: 'panic',
          rejoinSpreadMs: 3600001,
          settleMs: -1,
          colour: 1,
        },
        { panicFraction: 0 },
      ),
    );
    expect(result.errors).toEqual([
      'fleet.colour: is not a known key (known: siteCommunity, lastResortCommunity, lastResortMed, ' +
        'siteAs, maxSites, minHealthySites, whenUnknown, rejoinSpreadMs, settleMs)',
      'fleet.lastResortCommunity: must differ from fleet.siteCommunity',
      'fleet.lastResortMed: -5 must be an integer from 0 to 4294967295',
      'fleet.minHealthySites: 5 must be an integer from 1 to 4',
      'fleet.whenUnknown: "panic" is not allowed: one of local, hold',
      'fleet.rejoinSpreadMs: 3600001 must be an integer from 0 to 3600000',
      'fleet.settleMs: -1 must be an integer from 0 to 600000',
      'guard.panicFraction: 0 must be a number above 0, at most 1',
    ]);
    expect(readConfig(withFleet({ siteCommunity: '70000:1' })).errors).toEqual([
      'fleet.siteCommunity: "70000:1" is not a community ASN:VALUE (0-65535 each)',
      'fleet.lastResortCommunity: is required',
    ]);
    expect(readConfig(withFleet([], 'x')).errors).toEqual([
      'fleet: must be an object',
      'guard: must be an object',
    ]);
    expect(
      readConfig(withFleet({ siteCommunity: '1:1', lastResortCommunity: '1:2', maxSites: 1025 }))
        .errors,
    ).toEqual(['fleet.maxSites: 1025 must be an integer from 1 to 1024']);
  });

  it('reads fleet.siteAs, the origin ASes a site route may have, and refuses what is not one', () => {
    const fleet = { siteCommunity: '65010:1', lastResortCommunity: '65010:666' };
    const read = (siteAs: unknown) => readConfig(withFleet({ ...fleet, siteAs }));
    expect(read([65010, 4200000000]).config!.fleet!.siteAs).toEqual([65010, 4200000000]);
    expect(read([0, 4294967296, '65010', 1.5, 23456, 65020]).errors).toEqual([
      'fleet.siteAs[0]: 0 must be an AS number from 1 to 4294967295',
      'fleet.siteAs[1]: 4294967296 must be an AS number from 1 to 4294967295',
      'fleet.siteAs[2]: "65010" must be an AS number from 1 to 4294967295',
      'fleet.siteAs[3]: 1.5 must be an AS number from 1 to 4294967295',
      'fleet.siteAs[4]: 23456 is AS_TRANS (RFC 6793), which no route originates from',
    ]);
    expect(read([]).errors).toEqual(['fleet.siteAs: must have 1 to 32 entries, has 0']);
    expect(read(65010).errors).toEqual(['fleet.siteAs: must be an array']);
  });

  it('accepts a guard alone, and notes the drained services that the guard cannot help', () => {
    const doc = document();
    doc['guard'] = { panicFraction: 0.8 };
    const services = doc['services'] as Record<string, unknown>[];
    services[0]!['drain'] = { med: 500 };
    const result = readConfig(doc);
    expect(result.errors).toBeNull();
    expect(result.config!.guard).toEqual({ panicFraction: 0.8 });
    expect(configNotes(result.config!)).toEqual([
      'services[0].drain: note: a drained service is never withdrawn, so the fleet guard has ' +
        'nothing to do for it',
    ]);
    delete doc['guard'];
    expect(configNotes(readConfig(doc).config!)).toEqual([]);
  });
});

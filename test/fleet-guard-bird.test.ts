// The fleet guard over real BGP (issue 12): three `lifeline run` sites, each probing two dnsmasq
// data centres of its own, announce 192.0.2.53/32 to one BIRD 2 route server that sends each site
// the others' paths (ADD-PATH tx). Every site's data centres are cut at once (SIGSTOP), then one
// site is restored, then the others. The prefix's presence at BIRD comes from BIRD's route log
// (millisecond timestamps) and from a sampler of its table every few milliseconds. The same code
// plays `lifeline lab --scenario fleet` (host/fleet-scenario.ts), which the last case runs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { startDnsmasq } from '../host/dnsmasq';
import {
  FleetLab,
  LAST_RESORT_COMMUNITY,
  LAST_RESORT_MED,
  SITES,
  type DataCentre,
} from '../host/fleet-lab';
import { wholeFleetCut, type CutFigures } from '../host/fleet-scenario';
import { randomPort } from './support/peers';

const PROGRAM = 'dist/lifeline.mjs';
const CUT_MS = 2000;
const REJOIN_SPREAD_MS = 2000;
const dnsPort = randomPort();

/** Data centre `index` of site `site`: a dnsmasq on 127.0.12(1+site).(1+index), cut by SIGSTOP. */
async function dnsmasqCentre(site: number, index: number): Promise<DataCentre> {
  const server = await startDnsmasq('127.0.' + (121 + site) + '.' + (index + 1), dnsPort);
  return {
    address: server.address,
    port: server.port,
    cut: () => server.pause(),
    restore: () => server.resume(),
    stop: () => server.stop(),
  };
}

/** FNV-1a-32 of the device name over 2^32, of the window (docs/reference.md, rejoinSpreadMs). */
function rejoinOffsetMs(device: string, windowMs: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(device)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return (hash / 2 ** 32) * windowMs;
}

const figures: Record<string, CutFigures> = {};

function report(name: string, cut: CutFigures): void {
  figures[name] = cut;
  process.stdout.write(
    'fleet guard ' +
      name +
      ': absent ' +
      cut.absentMs +
      ' ms (route log, ' +
      cut.absences.length +
      ' absences), ' +
      cut.sampledAbsentMs +
      ' ms (' +
      cut.samples +
      ' samples); holding at the end of the cut: ' +
      (cut.holding.join(',') || 'none') +
      '; route changes during the cut: ' +
      cut.updatesDuringCut +
      '; hand-back: ' +
      cut.handbackMs +
      ' ms; rejoin: ' +
      JSON.stringify(cut.rejoinMs) +
      '\n',
  );
}

describe('fleet guard over BIRD 2: three sites, the whole fleet cut at once', () => {
  afterAll(() => process.stdout.write('fleet guard figures: ' + JSON.stringify(figures) + '\n'));

  it('guard off (each site alone, as today): the prefix leaves the router for the whole cut', async () => {
    const lab = await FleetLab.start({
      program: PROGRAM,
      guard: false,
      rejoinSpreadMs: 0,
      dataCentre: dnsmasqCentre,
    });
    try {
      const cut = await wholeFleetCut(lab, CUT_MS, () => {});
      report('off', cut);
      // Withdrawn one fall (timeout + 2 intervals, plus up to one interval) after the cut, back
      // one rise after the restore: gone for about the length of the cut.
      expect(cut.absences).toHaveLength(1);
      expect(cut.absentMs).toBeGreaterThan(CUT_MS - 700);
      expect(cut.absentMs).toBeLessThan(CUT_MS + 1500);
      expect(Math.abs(cut.sampledAbsentMs - cut.absentMs)).toBeLessThan(50);
      expect(cut.holding).toEqual([]);
      expect(cut.handbackMs).toBeNull();
      // Without a spread the others rejoin within one probe round of each other.
      const rejoin = Object.values(cut.rejoinMs);
      expect(Math.max(...rejoin) - Math.min(...rejoin)).toBeLessThan(300);
    } finally {
      await lab.stop();
    }
  });
});
